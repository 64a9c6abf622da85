// name: entities_by_key
// params: keys, user_id, agent_id, run_id
// returns: entities of the scope whose name or an alias normalises to one of the keys, with the key matched
// One pass over the scope's entities. The portable form (UNWIND $keys, then MATCH) scans
// them once per key: entity resolution asks ~1,000 keys per batch, and on the Bolt test
// server (ArcadeDB 26.10, 4,396 entities) that took 1,067 ms against 62 ms for this form;
// with 3 keys (a search) both take 15-20 ms. No index serves `k IN e.keys` on either.
MATCH (e:Entity)
WHERE ($user_id = '' OR e.user_id = $user_id) AND ($agent_id = '' OR e.agent_id = $agent_id) AND ($run_id = '' OR e.run_id = $run_id)
UNWIND [k IN e.keys WHERE k IN $keys] AS k
RETURN k AS matched_key, e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, e.user_id AS user_id, e.agent_id AS agent_id, e.run_id AS run_id, e.created_at AS created_at, e.valid_at AS valid_at, e.invalid_at AS invalid_at
