// name: fact_delete
// params: ids
// returns: nothing; deletes fact nodes and their MENTIONS links
UNWIND $ids AS i
MATCH (f:Fact {id: i})
DETACH DELETE f
