// name: graph_counts_all
// params: -
// returns: one row: the entity, relation and fact counts of the whole graph (graph_counts with no scope; on Neo4j read from the store's counts). Kuzu has its own form, which returns a row per kind
OPTIONAL MATCH (e:Entity)
WITH count(e) AS entities
OPTIONAL MATCH (f:Fact)
WITH entities, count(f) AS facts
OPTIONAL MATCH ()-[x:RELATES]->()
RETURN entities, facts, count(x) AS relations
