// name: entity_upsert
// params: rows
// returns: nothing; creates or overwrites Entity nodes by id
// Kuzu only: $rows arrives as a pyarrow Table (see fact_create.cypher). The portable
// UNWIND form took 230-300 ms for 100 rows at 300k memories, this one 55-95 ms, and the
// UNWIND form grew with the data dir: 23-35 ms per batch in a new one (measured, 0.11.3).
LOAD FROM $rows
MERGE (e:Entity {id: id})
SET e.name = name, e.type = type, e.aliases = aliases, e.keys = keys,
    e.user_id = user_id, e.agent_id = agent_id, e.run_id = run_id,
    e.created_at = created_at, e.valid_at = valid_at, e.invalid_at = invalid_at
