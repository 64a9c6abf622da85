// name: entity_upsert
// params: rows
// returns: nothing; creates or overwrites Entity nodes by id
UNWIND $rows AS r
MERGE (e:Entity {id: r.id})
SET e.name = r.name, e.type = r.type, e.aliases = r.aliases, e.keys = r.keys,
    e.user_id = r.user_id, e.agent_id = r.agent_id, e.run_id = r.run_id,
    e.created_at = r.created_at, e.valid_at = r.valid_at, e.invalid_at = r.invalid_at
