// name: schema_entity_key
// params: -
// returns: nothing; the index behind entities_by_key (one EntityKey node per name or alias key of an entity)
CREATE INDEX graphmem_entity_key IF NOT EXISTS FOR (k:EntityKey) ON (k.key)
