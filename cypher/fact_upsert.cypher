// name: fact_upsert
// params: rows
// returns: nothing; creates or overwrites Fact nodes by id
UNWIND $rows AS r
MERGE (f:Fact {id: r.id})
SET f.text = r.text, f.user_id = r.user_id, f.agent_id = r.agent_id, f.run_id = r.run_id,
    f.created_at = r.created_at, f.valid_at = r.valid_at, f.invalid_at = r.invalid_at
