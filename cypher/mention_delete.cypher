// name: mention_delete
// params: rows
// returns: nothing; removes (Fact)-[:MENTIONS]->(Entity) links given as fact_id, entity_id
UNWIND $rows AS r
MATCH (f:Fact {id: r.fact_id})-[m:MENTIONS]->(e:Entity {id: r.entity_id})
DELETE m
