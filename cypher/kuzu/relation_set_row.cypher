// name: relation_set_row
// params: id, source_id, target_id, fact_ids, valid_at, invalid_at
// returns: nothing; relation_set for one row (KuzuGraphStore runs it per row for a few rows)
// Both ends are found by primary key and the edge among the source's; relation_set's
// UNWIND is planned as the cross product of its rows with every relationship (173 ms
// for 10 rows at 300k memories, measured on 0.11.3), ten of these 15 ms.
MATCH (a:Entity {id: $source_id})-[x:RELATES]->(b:Entity {id: $target_id})
WHERE x.id = $id
SET x.fact_ids = $fact_ids, x.valid_at = $valid_at, x.invalid_at = $invalid_at
