// name: relations_joining
// params: ids, keep, user_id, agent_id, run_id, as_of, include_invalid
// returns: every visible relation of the scope joining an entity of $keep (the entities a query names) to one of $ids, uncapped: what a walk keeps beyond a hub's cap (relations_fan)
// Read from the named entities' side: they are the query's own few, where $ids at a walk's
// second hop hold the hubs it reached.
UNWIND $keep AS k
MATCH (e:Entity {id: k})-[x:RELATES]-(o:Entity)
WHERE o.id IN $ids
  AND ($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id)
  AND (CASE WHEN $as_of <> '' THEN (coalesce(x.valid_at, '') = '' OR x.valid_at <= $as_of) AND (coalesce(x.invalid_at, '') = '' OR x.invalid_at > $as_of) ELSE $include_invalid OR coalesce(x.invalid_at, '') = '' END)
WITH DISTINCT x
WITH x, startNode(x) AS a, endNode(x) AS b
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
