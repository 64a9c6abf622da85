// name: index_relations
// params: -
// returns: every relation of every scope with its endpoints, for the in-process graph index (stores/graph_index.py)
MATCH (a:Entity)-[x:RELATES]->(b:Entity)
RETURN x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at
