// name: relations_fan
// params: ids, limit, user_id, agent_id, run_id, as_of, include_invalid
// returns: per entity of $ids (entity_id) and relation name, the $limit visible relations of the scope whose lowest fact id sorts first (ties by id): what a walk uses of a hub, which graphmem keeps per entity until the graph changes (stores/fan_cache.py); GraphOps applies the same rule again to what comes back
// Why on the server: a walk through a city's thousand residents read the whole hub over
// Bolt (~1 s a hybrid search at 100k memories on the ArcadeDB test server). The scope and
// time rules are here, before the cap, or the cap would keep hidden relations and return
// fewer than $limit visible ones. startNode/endNode, not a second MATCH on the kept
// relationships: on ArcadeDB that second MATCH scanned every relation (3.3 s vs 33 ms).
// No relations to named entities here (relations_joining): they depend on the query, and
// this read is kept for the next one.
UNWIND $ids AS i
MATCH (e:Entity {id: i})-[x:RELATES]-(:Entity)
WHERE ($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id)
  AND (CASE WHEN $as_of <> '' THEN (coalesce(x.valid_at, '') = '' OR x.valid_at <= $as_of) AND (coalesce(x.invalid_at, '') = '' OR x.invalid_at > $as_of) ELSE $include_invalid OR coalesce(x.invalid_at, '') = '' END)
WITH i, x, coalesce(reduce(m = head(x.fact_ids), f IN x.fact_ids | CASE WHEN f < m THEN f ELSE m END), '') AS first
ORDER BY first, x.id
WITH i, x.name AS name, collect(x)[..$limit] AS kept
UNWIND kept AS x
WITH i, x, startNode(x) AS a, endNode(x) AS b
RETURN i AS entity_id, x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
