// name: mentions_in_scope
// params: user_id, agent_id, run_id, skip, limit
// returns: a page of (fact_id, entity_id) links of the scope's facts
MATCH (f:Fact)-[:MENTIONS]->(e:Entity)
WHERE (($user_id = '' OR f.user_id = $user_id) AND ($agent_id = '' OR f.agent_id = $agent_id) AND ($run_id = '' OR f.run_id = $run_id))
RETURN f.id AS fact_id, e.id AS entity_id
ORDER BY fact_id, entity_id
SKIP $skip LIMIT $limit
