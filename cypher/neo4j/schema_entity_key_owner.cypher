// name: schema_entity_key_owner
// params: -
// returns: nothing; the index that finds an entity's EntityKey nodes when it changes or goes
CREATE INDEX graphmem_entity_key_owner IF NOT EXISTS FOR (k:EntityKey) ON (k.entity_id)
