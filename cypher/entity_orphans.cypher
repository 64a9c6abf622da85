// name: entity_orphans
// params: ids
// returns: ids among the given entities that no fact mentions and no relation touches
UNWIND $ids AS i
MATCH (e:Entity {id: i})
WHERE NOT EXISTS { MATCH (e)<-[:MENTIONS]-(:Fact) }
  AND NOT EXISTS { MATCH (e)-[:RELATES]-(:Entity) }
RETURN e.id AS id
