// name: relations_touching
// params: ids, user_id, agent_id, run_id
// returns: relations of the scope with either end among the entity ids, current and invalidated alike (GraphOps applies the time rule: a parameterised time predicate here was 4x slower on Kuzu)
MATCH (a:Entity)-[x:RELATES]->(b:Entity)
WHERE a.id IN $ids
  AND (($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id))
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
UNION ALL
MATCH (a:Entity)-[x:RELATES]->(b:Entity)
WHERE b.id IN $ids
  AND (($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id))
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
