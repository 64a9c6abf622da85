// name: entity_orphans
// params: ids
// returns: ids among the given entities that no fact mentions and no relation touches
// Why the WHERE on the other end: Kuzu 0.11.3, replaying its log after a kill -9, was seen to
// keep a MENTIONS edge from a deleted fact (count 1, no fact at its end); a bare EXISTS counted
// it, the entity was never pruned again, and its vector was gone (tests/test_crash_safety.py).
UNWIND $ids AS i
MATCH (e:Entity {id: i})
WHERE NOT EXISTS { MATCH (e)<-[:MENTIONS]-(f:Fact) WHERE f.id IS NOT NULL }
  AND NOT EXISTS { MATCH (e)-[:RELATES]-(o:Entity) WHERE o.id IS NOT NULL }
RETURN e.id AS id
