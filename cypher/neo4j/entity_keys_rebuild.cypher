// name: entity_keys_rebuild
// params: -
// returns: nothing; EntityKey nodes for every entity, for a database written before they existed (entity_keys_clear first)
MATCH (e:Entity)
UNWIND e.keys AS key
CREATE (:EntityKey {key: key, entity_id: e.id, user_id: e.user_id, agent_id: e.agent_id, run_id: e.run_id})
