// name: relation_delete
// params: rows
// returns: nothing; deletes relations by id and endpoints
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id})-[x:RELATES]->(b:Entity {id: r.target_id})
WHERE x.id = r.id
DELETE x
