// name: index_mentions
// params: -
// returns: every (fact_id, entity_id) MENTIONS link, for the in-process graph index (stores/graph_index.py)
MATCH (f:Fact)-[:MENTIONS]->(e:Entity)
RETURN f.id AS fact_id, e.id AS entity_id
