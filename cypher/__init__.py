# Makes this folder the package graphmem.queries, so the .cypher files ship in the wheel.
