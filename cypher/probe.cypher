// name: probe
// params: -
// returns: one row with ok = 1
RETURN 1 AS ok
