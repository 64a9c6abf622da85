// name: schema_entity_user
// params: -
// returns: nothing; index for scope filters on entities
CREATE INDEX graphmem_entity_user IF NOT EXISTS FOR (e:Entity) ON (e.user_id)
