// name: entities_by_key
// params: keys, user_id, agent_id, run_id
// returns: entities of the scope whose name or an alias normalises to one of the keys, with the key matched
UNWIND $keys AS k
MATCH (e:Entity)
WHERE k IN e.keys AND (($user_id = '' OR e.user_id = $user_id) AND ($agent_id = '' OR e.agent_id = $agent_id) AND ($run_id = '' OR e.run_id = $run_id))
RETURN k AS matched_key, e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, e.user_id AS user_id, e.agent_id AS agent_id, e.run_id AS run_id, e.created_at AS created_at, e.valid_at AS valid_at, e.invalid_at AS invalid_at
