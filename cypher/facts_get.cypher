// name: facts_get
// params: ids
// returns: the fact nodes with these ids
UNWIND $ids AS i
MATCH (f:Fact {id: i})
RETURN f.id AS id, f.text AS text, f.user_id AS user_id, f.agent_id AS agent_id, f.run_id AS run_id, f.created_at AS created_at, f.valid_at AS valid_at, f.invalid_at AS invalid_at
