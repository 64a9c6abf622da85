// name: reset_all
// params: -
// returns: nothing; deletes every node and edge graphmem stores
MATCH (n)
DETACH DELETE n
