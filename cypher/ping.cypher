// name: ping
// params: -
// returns: one row, ok = 1
RETURN 1 AS ok
