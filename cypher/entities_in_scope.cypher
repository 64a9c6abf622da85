// name: entities_in_scope
// params: user_id, agent_id, run_id, skip, limit
// returns: a page of the scope's entities, ordered by name then id
MATCH (e:Entity)
WHERE (($user_id = '' OR e.user_id = $user_id) AND ($agent_id = '' OR e.agent_id = $agent_id) AND ($run_id = '' OR e.run_id = $run_id))
RETURN e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, e.user_id AS user_id, e.agent_id AS agent_id, e.run_id AS run_id, e.created_at AS created_at, e.valid_at AS valid_at, e.invalid_at AS invalid_at
ORDER BY name, id
SKIP $skip LIMIT $limit
