// name: relation_upsert
// params: rows
// returns: nothing; creates or overwrites a RELATES edge by id between two entities
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id}), (b:Entity {id: r.target_id})
MERGE (a)-[x:RELATES {id: r.id}]->(b)
SET x.name = r.name, x.rel_type = r.rel_type, x.fact_ids = r.fact_ids,
    x.user_id = r.user_id, x.agent_id = r.agent_id, x.run_id = r.run_id,
    x.created_at = r.created_at, x.valid_at = r.valid_at, x.invalid_at = r.invalid_at
