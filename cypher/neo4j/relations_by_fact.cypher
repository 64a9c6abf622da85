// name: relations_by_fact
// params: ids
// returns: the relations each fact supports, with the fact id; the membership test runs on the server here (shipping every relation of each entity the fact mentions, a city's thousands among them, cost a search more than all else on Bolt), and GraphOps.supported_by checks it again
UNWIND $ids AS i
MATCH (f:Fact {id: i})-[:MENTIONS]->(a:Entity)-[x:RELATES]->(b:Entity)
WHERE i IN x.fact_ids
RETURN DISTINCT i AS fact_id, x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
