// name: relations_touching
// params: ids, user_id, agent_id, run_id, as_of, include_invalid
// returns: relations of the scope with either end among the entity ids; current only unless as_of or include_invalid
UNWIND $ids AS i
MATCH (a:Entity {id: i})-[x:RELATES]->(b:Entity)
WHERE (($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id))
  AND (($as_of = '' AND ($include_invalid OR x.invalid_at = '')) OR ($as_of <> '' AND (x.valid_at = '' OR x.valid_at <= $as_of) AND (x.invalid_at = '' OR x.invalid_at > $as_of)))
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
UNION ALL
UNWIND $ids AS i
MATCH (a:Entity)-[x:RELATES]->(b:Entity {id: i})
WHERE (($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id))
  AND (($as_of = '' AND ($include_invalid OR x.invalid_at = '')) OR ($as_of <> '' AND (x.valid_at = '' OR x.valid_at <= $as_of) AND (x.invalid_at = '' OR x.invalid_at > $as_of)))
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
