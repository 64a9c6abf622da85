// name: relation_existing
// params: rows
// returns: id of each row's relation that already exists (rows carry id, source_id, target_id)
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id})-[x:RELATES]->(b:Entity {id: r.target_id})
WHERE x.id = r.id
RETURN x.id AS id
