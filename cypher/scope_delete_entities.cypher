// name: scope_delete_entities
// params: user_id, agent_id, run_id
// returns: nothing; deletes every entity of the scope with its edges
MATCH (e:Entity)
WHERE (($user_id = '' OR e.user_id = $user_id) AND ($agent_id = '' OR e.agent_id = $agent_id) AND ($run_id = '' OR e.run_id = $run_id))
DETACH DELETE e
