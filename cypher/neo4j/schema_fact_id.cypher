// name: schema_fact_id
// params: -
// returns: nothing; unique fact ids (also the lookup index)
CREATE CONSTRAINT graphmem_fact_id IF NOT EXISTS FOR (f:Fact) REQUIRE f.id IS UNIQUE
