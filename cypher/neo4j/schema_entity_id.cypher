// name: schema_entity_id
// params: -
// returns: nothing; unique entity ids (also the lookup index)
CREATE CONSTRAINT graphmem_entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE
