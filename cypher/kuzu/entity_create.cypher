// name: entity_create
// params: rows
// returns: nothing; creates new Entity nodes (ids not stored yet)
UNWIND $rows AS r
CREATE (e:Entity {id: r.id, name: r.name, type: r.type, aliases: r.aliases, keys: r.keys,
                  user_id: r.user_id, agent_id: r.agent_id, run_id: r.run_id,
                  created_at: r.created_at, valid_at: r.valid_at, invalid_at: r.invalid_at})
