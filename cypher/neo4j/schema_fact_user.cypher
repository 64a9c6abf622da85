// name: schema_fact_user
// params: -
// returns: nothing; index for scope filters on facts
CREATE INDEX graphmem_fact_user IF NOT EXISTS FOR (f:Fact) ON (f.user_id)
