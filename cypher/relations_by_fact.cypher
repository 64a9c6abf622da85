// name: relations_by_fact
// params: ids
// returns: candidate relations around the entities each fact mentions, with the fact id; the caller keeps those whose fact_ids contain it (Kuzu 0.11 evaluates `i IN x.fact_ids` wrongly here, so the test is done in Python)
UNWIND $ids AS i
MATCH (f:Fact {id: i})-[:MENTIONS]->(a:Entity)-[x:RELATES]->(b:Entity)
RETURN DISTINCT i AS fact_id, x.id AS id, a.id AS source_id, b.id AS target_id, x.name AS name, x.fact_ids AS fact_ids, x.user_id AS user_id, x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at, x.valid_at AS valid_at, x.invalid_at AS invalid_at, a.name AS source_name, b.name AS target_name
