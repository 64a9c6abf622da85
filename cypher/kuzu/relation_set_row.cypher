// name: relation_set_row
// params: id, source_id, target_id, fact_ids, valid_at, invalid_at
// returns: nothing; relation_set for one row (KuzuGraphStore runs it per row for a few rows)
// Both ends are found by primary key and the edge among the source's; relation_set's
// UNWIND is planned as the cross product of its rows with every relationship (173 ms
// for 10 rows at 300k memories, measured on 0.11.3), ten of these 15 ms.
// The edge is deleted and created anew, not SET: on Kuzu 0.11.3, a SET on a relationship's
// properties, committed after earlier deletes, can leave a write-ahead log that fails
// to replay (KU_UNREACHABLE in csr_node_group.cpp), so a process that ended without
// closing left a graph that no longer opened (tests/test_crash_safety.py).
MATCH (a:Entity {id: $source_id})-[x:RELATES]->(b:Entity {id: $target_id})
WHERE x.id = $id
WITH a, b, x, x.id AS id, x.name AS name, x.rel_type AS rel_type, x.user_id AS user_id,
     x.agent_id AS agent_id, x.run_id AS run_id, x.created_at AS created_at
DELETE x
CREATE (a)-[:RELATES {id: id, name: name, rel_type: rel_type, fact_ids: $fact_ids,
                      user_id: user_id, agent_id: agent_id, run_id: run_id,
                      created_at: created_at, valid_at: $valid_at, invalid_at: $invalid_at}]->(b)
