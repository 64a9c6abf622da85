// name: relation_set
// params: rows
// returns: nothing; overwrites support and validity of existing relations (rows carry ids and endpoints)
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id})-[x:RELATES]->(b:Entity {id: r.target_id})
WHERE x.id = r.id
SET x.fact_ids = r.fact_ids, x.valid_at = r.valid_at, x.invalid_at = r.invalid_at
