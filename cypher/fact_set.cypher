// name: fact_set
// params: rows
// returns: nothing; overwrites the text and validity of existing facts
UNWIND $rows AS r
MATCH (f:Fact {id: r.id})
SET f.text = r.text, f.valid_at = r.valid_at, f.invalid_at = r.invalid_at
