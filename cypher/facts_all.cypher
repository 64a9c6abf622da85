// name: facts_all
// params: -
// returns: every fact node of every scope, for verify() and export (graphmem/maintenance/)
MATCH (f:Fact)
RETURN f.id AS id, f.text AS text, f.user_id AS user_id, f.agent_id AS agent_id, f.run_id AS run_id, f.created_at AS created_at, f.valid_at AS valid_at, f.invalid_at AS invalid_at
