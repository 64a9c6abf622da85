// name: entity_keys_mark
// params: version
// returns: nothing; records that every entity has its EntityKey nodes (this layout version)
MERGE (m:GraphmemMeta {name: 'entity_keys'})
SET m.version = $version
