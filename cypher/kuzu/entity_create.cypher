// name: entity_create
// params: rows
// returns: nothing; creates new Entity nodes (ids not stored yet)
// Kuzu only: $rows arrives as a pyarrow Table, see fact_create.cypher.
LOAD FROM $rows
CREATE (e:Entity {id: id, name: name, type: type, aliases: aliases, keys: keys,
                  user_id: user_id, agent_id: agent_id, run_id: run_id,
                  created_at: created_at, valid_at: valid_at, invalid_at: invalid_at})
