// name: entity_keys_marked
// params: -
// returns: the layout version of the EntityKey nodes, when the database records one
MATCH (m:GraphmemMeta {name: 'entity_keys'})
RETURN m.version AS version
