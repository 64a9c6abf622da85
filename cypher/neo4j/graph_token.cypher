// name: graph_token
// params: -
// returns: the token every committed graphmem write to this database replaces (graph_token_set), when one was ever written: a reader that saw the same token before has seen the same graph
MATCH (m:GraphmemMeta {name: 'graph'})
RETURN m.token AS token
