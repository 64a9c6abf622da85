// name: entity_existing
// params: ids
// returns: id of each given Entity that exists
UNWIND $ids AS i
MATCH (e:Entity {id: i})
RETURN e.id AS id
