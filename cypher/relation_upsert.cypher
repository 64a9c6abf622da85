// name: relation_upsert
// params: rows
// returns: nothing; creates or overwrites a RELATES edge by id between two entities
// One end per MATCH, joined on a plain variable that stays in scope: Kuzu 0.11.3 plans
// `MATCH (a {id: r.source_id}), (b {id: r.target_id})` as an Entity x Entity cross product.
UNWIND $rows AS r
WITH r, r.source_id AS source_id
MATCH (a:Entity {id: source_id})
WITH a, r, source_id, r.target_id AS target_id
MATCH (b:Entity {id: target_id})
MERGE (a)-[x:RELATES {id: r.id}]->(b)
SET x.name = r.name, x.rel_type = r.rel_type, x.fact_ids = r.fact_ids,
    x.user_id = r.user_id, x.agent_id = r.agent_id, x.run_id = r.run_id,
    x.created_at = r.created_at, x.valid_at = r.valid_at, x.invalid_at = r.invalid_at
