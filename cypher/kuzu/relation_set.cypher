// name: relation_set
// params: rows
// returns: nothing; overwrites support and validity of existing relations (rows carry ids and endpoints)
// Deleted and created anew rather than SET, as in relation_set_row.cypher: a SET on a
// relationship could leave Kuzu 0.11.3 a write-ahead log it cannot replay.
UNWIND $rows AS r
MATCH (a:Entity {id: r.source_id})-[x:RELATES]->(b:Entity {id: r.target_id})
WHERE x.id = r.id
WITH a, b, r, x, x.id AS id, x.name AS name, x.rel_type AS rel_type, x.user_id AS user_id,
     x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at
DELETE x
CREATE (a)-[:RELATES {id: id, name: name, rel_type: rel_type, fact_ids: r.fact_ids,
                      user_id: user_id, agent_id: agent_id, run_id: run_id,
                      created_at: created_at, valid_at: r.valid_at, invalid_at: r.invalid_at}]->(b)
