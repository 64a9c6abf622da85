// name: scope_delete_entity_keys
// params: user_id, agent_id, run_id
// returns: nothing; deletes the EntityKey nodes of every entity of the scope (before scope_delete_entities)
MATCH (k:EntityKey)
WHERE (($user_id = '' OR k.user_id = $user_id) AND ($agent_id = '' OR k.agent_id = $agent_id) AND ($run_id = '' OR k.run_id = $run_id))
DELETE k
