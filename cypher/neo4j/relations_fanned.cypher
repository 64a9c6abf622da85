// name: relations_fanned
// params: ids, limit, keep, user_id, agent_id, run_id, as_of, include_invalid
// returns: relations_touching capped on the server: per entity of $ids and relation name, the $limit visible relations of the scope whose lowest fact id sorts first (ties by id), plus every visible one joining $ids to $keep; GraphOps applies the same rule again to what comes back
// Why on the server: a walk through a city's thousand residents read the whole hub over
// Bolt (~1 s a hybrid search at 100k memories on the ArcadeDB test server). The scope and
// time rules are here, before the cap, or the cap would keep hidden relations and return
// fewer than $limit visible ones. startNode/endNode, not a second MATCH on the kept
// relationships: on ArcadeDB that second MATCH scanned every relation (3.3 s vs 33 ms).
UNWIND $ids AS i
MATCH (e:Entity {id: i})-[x:RELATES]-(o:Entity)
WHERE ($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id)
  AND (CASE WHEN $as_of <> '' THEN (coalesce(x.valid_at, '') = '' OR x.valid_at <= $as_of) AND (coalesce(x.invalid_at, '') = '' OR x.invalid_at > $as_of) ELSE $include_invalid OR coalesce(x.invalid_at, '') = '' END)
WITH i, x, o.id IN $keep AS joins, coalesce(reduce(m = head(x.fact_ids), f IN x.fact_ids | CASE WHEN f < m THEN f ELSE m END), '') AS first
ORDER BY first, x.id
WITH i, x.name AS name, collect(x)[..$limit] AS kept, [y IN collect(CASE WHEN joins THEN x END) WHERE y IS NOT NULL] AS joining
UNWIND kept + joining AS x
WITH DISTINCT x
WITH x, startNode(x) AS a, endNode(x) AS b
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
