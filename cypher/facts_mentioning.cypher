// name: facts_mentioning
// params: ids, user_id, agent_id, run_id
// returns: fact nodes of the scope that mention one of the entity ids, with the entity id
UNWIND $ids AS i
MATCH (f:Fact)-[:MENTIONS]->(e:Entity {id: i})
WHERE (($user_id = '' OR f.user_id = $user_id) AND ($agent_id = '' OR f.agent_id = $agent_id) AND ($run_id = '' OR f.run_id = $run_id))
RETURN e.id AS entity_id, f.id AS id, f.text AS text, f.user_id AS user_id, f.agent_id AS agent_id, f.run_id AS run_id, f.created_at AS created_at, f.valid_at AS valid_at, f.invalid_at AS invalid_at
