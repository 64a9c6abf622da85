// name: schema_fact
// params: -
// returns: nothing; the Fact node table
CREATE NODE TABLE IF NOT EXISTS Fact(id STRING PRIMARY KEY, text STRING, user_id STRING, agent_id STRING, run_id STRING, created_at STRING, valid_at STRING, invalid_at STRING)
