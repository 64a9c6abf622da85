// name: schema_relates
// params: -
// returns: nothing; one generic relationship table, the relation name is a property
CREATE REL TABLE IF NOT EXISTS RELATES(FROM Entity TO Entity, id STRING, name STRING, rel_type STRING, fact_ids STRING[], user_id STRING, agent_id STRING, run_id STRING, created_at STRING, valid_at STRING, invalid_at STRING)
