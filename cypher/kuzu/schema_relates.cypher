// name: schema_relates
// params: -
// returns: nothing; one generic relationship table, the relation name is a property
// fact_ids is a JSON array in a STRING, not a STRING[] (stores/kuzu_lists.py): on Kuzu
// 0.11.3 a list property of a relationship table made every checkpoint rewrite the
// lists already stored, so ingest slowed with the square of the graph's size.
CREATE REL TABLE IF NOT EXISTS RELATES(FROM Entity TO Entity, id STRING, name STRING, rel_type STRING, fact_ids STRING, user_id STRING, agent_id STRING, run_id STRING, created_at STRING, valid_at STRING, invalid_at STRING)
