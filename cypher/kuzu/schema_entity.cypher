// name: schema_entity
// params: -
// returns: nothing; the Entity node table (keys = normalised name and aliases)
CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY, name STRING, type STRING, aliases STRING[], keys STRING[], user_id STRING, agent_id STRING, run_id STRING, created_at STRING, valid_at STRING, invalid_at STRING)
