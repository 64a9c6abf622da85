// name: entity_delete
// params: ids
// returns: nothing; deletes entities and every edge touching them
UNWIND $ids AS i
MATCH (e:Entity {id: i})
DETACH DELETE e
