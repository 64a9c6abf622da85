// name: graph_counts_all
// params: -
// returns: up to three rows of entities, facts, relations, each counting one kind and 0 for the others; the caller sums them (an empty table gives no row)
// Kuzu only: each bare count(*) is answered from the table's own count (1.5-20 ms at 1M
// memories), where the portable form's OPTIONAL MATCH chain scanned: 157-213 ms, on every open
MATCH (e:Entity) RETURN count(*) AS entities, 0 AS facts, 0 AS relations
UNION ALL
MATCH (f:Fact) RETURN 0 AS entities, count(*) AS facts, 0 AS relations
UNION ALL
MATCH ()-[x:RELATES]->() RETURN 0 AS entities, 0 AS facts, count(*) AS relations
