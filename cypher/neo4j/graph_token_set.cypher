// name: graph_token_set
// params: token
// returns: nothing; the last statement of every graphmem write transaction, so readers in any process know the graph changed (stores/fan_cache.py)
MERGE (m:GraphmemMeta {name: 'graph'})
SET m.token = $token
