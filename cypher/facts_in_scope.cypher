// name: facts_in_scope
// params: user_id, agent_id, run_id, skip, limit
// returns: a page of the scope's fact nodes, ordered by id
MATCH (f:Fact)
WHERE (($user_id = '' OR f.user_id = $user_id) AND ($agent_id = '' OR f.agent_id = $agent_id) AND ($run_id = '' OR f.run_id = $run_id))
RETURN f.id AS id, f.text AS text, f.user_id AS user_id, f.agent_id AS agent_id, f.run_id AS run_id, f.created_at AS created_at, f.valid_at AS valid_at, f.invalid_at AS invalid_at
ORDER BY id
SKIP $skip LIMIT $limit
