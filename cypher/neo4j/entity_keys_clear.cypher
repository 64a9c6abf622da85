// name: entity_keys_clear
// params: -
// returns: nothing; deletes every EntityKey node (before entity_keys_rebuild)
MATCH (k:EntityKey)
DELETE k
