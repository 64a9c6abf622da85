// name: entity_keys_drop
// params: ids
// returns: nothing; deletes the EntityKey nodes of the given entities (before they change or go)
UNWIND $ids AS i
MATCH (k:EntityKey {entity_id: i})
DELETE k
