// name: entities_by_key
// params: keys, user_id, agent_id, run_id
// returns: entities of the scope whose name or an alias normalises to one of the keys, with the key matched
// Served by the EntityKey index (schema_entity_key): no index serves `k IN e.keys`, and the
// scan over the scope's entities this replaced grew with them. On the Bolt test server
// (ArcadeDB 26.10), 3 keys: 24.7 / 68.3 ms at 4,396 / 12,383 entities scanned, 6.4 / 5.5 ms
// looked up; 500 keys (an ingest batch): 153 / 185 ms scanned, 44 / 39 ms looked up.
UNWIND $keys AS k
MATCH (x:EntityKey {key: k})
WHERE ($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id)
MATCH (e:Entity {id: x.entity_id})
RETURN DISTINCT k AS matched_key, e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, e.user_id AS user_id, e.agent_id AS agent_id, e.run_id AS run_id, e.created_at AS created_at, e.valid_at AS valid_at, e.invalid_at AS invalid_at
