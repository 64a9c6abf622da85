// name: relations_touching
// params: ids
// returns: relations with either end among the entity ids, any scope, current and invalidated alike (GraphOps applies the scope and time rules: as predicates here they made Kuzu 0.11 scan and test every relationship, 5x and 4x slower)
MATCH (a:Entity)-[x:RELATES]->(b:Entity)
WHERE a.id IN $ids
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
UNION ALL
MATCH (a:Entity)-[x:RELATES]->(b:Entity)
WHERE b.id IN $ids
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
