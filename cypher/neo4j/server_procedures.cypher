// name: server_procedures
// params: -
// returns: the name of every procedure the server offers, to detect optional features (vector indexes, APOC)
SHOW PROCEDURES YIELD name
RETURN name
