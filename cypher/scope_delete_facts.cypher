// name: scope_delete_facts
// params: user_id, agent_id, run_id
// returns: nothing; deletes every fact node of the scope
MATCH (f:Fact)
WHERE (($user_id = '' OR f.user_id = $user_id) AND ($agent_id = '' OR f.agent_id = $agent_id) AND ($run_id = '' OR f.run_id = $run_id))
DETACH DELETE f
