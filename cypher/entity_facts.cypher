// name: entity_facts
// params: ids, most
// returns: per entity id, how many facts mention it, and their ids when no more than $most (a hub is counted, not listed)
UNWIND $ids AS i
MATCH (e:Entity {id: i})<-[:MENTIONS]-(f:Fact)
WITH e.id AS entity_id, collect(f.id) AS found
RETURN entity_id, size(found) AS facts, CASE WHEN size(found) <= $most THEN found ELSE NULL END AS fact_ids
