// name: entity_keys_add
// params: rows
// returns: nothing; one EntityKey node per key of each entity row (after entity_upsert)
UNWIND $rows AS r
UNWIND r.keys AS key
CREATE (:EntityKey {key: key, entity_id: r.id, user_id: r.user_id, agent_id: r.agent_id, run_id: r.run_id})
