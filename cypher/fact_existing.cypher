// name: fact_existing
// params: ids
// returns: id of each given Fact that exists
UNWIND $ids AS i
MATCH (f:Fact {id: i})
RETURN f.id AS id
