// name: index_entities
// params: -
// returns: every entity of every scope with its match keys, for the in-process graph index (stores/graph_index.py)
MATCH (e:Entity)
RETURN e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, e.keys AS keys, e.user_id AS user_id, e.agent_id AS agent_id, e.run_id AS run_id, e.created_at AS created_at, e.valid_at AS valid_at, e.invalid_at AS invalid_at
