// name: graph_counts
// params: user_id, agent_id, run_id
// returns: one row: the scope's entity, relation and fact counts
OPTIONAL MATCH (e:Entity)
WHERE (($user_id = '' OR e.user_id = $user_id) AND ($agent_id = '' OR e.agent_id = $agent_id) AND ($run_id = '' OR e.run_id = $run_id))
WITH count(e) AS entities
OPTIONAL MATCH (f:Fact)
WHERE (($user_id = '' OR f.user_id = $user_id) AND ($agent_id = '' OR f.agent_id = $agent_id) AND ($run_id = '' OR f.run_id = $run_id))
WITH entities, count(f) AS facts
OPTIONAL MATCH (:Entity)-[x:RELATES]->(:Entity)
WHERE (($user_id = '' OR x.user_id = $user_id) AND ($agent_id = '' OR x.agent_id = $agent_id) AND ($run_id = '' OR x.run_id = $run_id))
RETURN entities, facts, count(x) AS relations
