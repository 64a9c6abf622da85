// name: relation_create
// params: rows
// returns: nothing; creates a RELATES edge per row (ids not stored yet) between two stored entities
// Kuzu only: $rows arrives as a pyarrow Table, see fact_create.cypher. Each end is matched
// in its own MATCH, every variable carried on with WITH *: Kuzu 0.11.3 then joins each
// end by hash on its id, where one MATCH of both ends builds the Entity x Entity cross
// product first (5M rows at 2.2k entities); and a WITH that drops a join key fails with
// "Cannot evaluate expression with type VARIABLE".
LOAD FROM $rows
WITH *
MATCH (a:Entity {id: source_id})
WITH *
MATCH (b:Entity {id: target_id})
CREATE (a)-[:RELATES {id: id, name: name, rel_type: rel_type, fact_ids: fact_ids,
                      user_id: user_id, agent_id: agent_id, run_id: run_id,
                      created_at: created_at, valid_at: valid_at, invalid_at: invalid_at}]->(b)
