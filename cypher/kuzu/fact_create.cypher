// name: fact_create
// params: rows
// returns: nothing; creates new Fact nodes, each linked by MENTIONS to the stored entities in r.entity_ids
UNWIND $rows AS r
CREATE (f:Fact {id: r.id, text: r.text, user_id: r.user_id, agent_id: r.agent_id,
                run_id: r.run_id, created_at: r.created_at, valid_at: r.valid_at,
                invalid_at: r.invalid_at})
WITH f, r
UNWIND r.entity_ids AS entity_id
MATCH (e:Entity {id: entity_id})
CREATE (f)-[:MENTIONS]->(e)
