// name: fact_mentions
// params: ids
// returns: (fact_id, entity_id) pairs for the given facts
UNWIND $ids AS i
MATCH (f:Fact {id: i})-[:MENTIONS]->(e:Entity)
RETURN f.id AS fact_id, e.id AS entity_id
