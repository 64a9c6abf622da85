// name: fact_texts
// params: ids
// returns: id and text of each given Fact that exists (a content id may belong to a memory whose text was updated since)
UNWIND $ids AS i
MATCH (f:Fact {id: i})
RETURN f.id AS id, f.text AS text
