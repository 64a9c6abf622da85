// name: mention_merge
// params: rows
// returns: nothing; links (Fact)-[:MENTIONS]->(Entity) once
UNWIND $rows AS r
MATCH (f:Fact {id: r.fact_id}), (e:Entity {id: r.entity_id})
MERGE (f)-[:MENTIONS]->(e)
