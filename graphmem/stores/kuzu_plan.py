"""Reading Kuzu's ``EXPLAIN`` output: the second guard on users' read-only Cypher.

The lexical allow-list (``graphmem.cypher_lexer``) decides from the text; this module
decides from the physical plan Kuzu's own parser, binder and planner made of it, so a
statement the lexer misread still cannot reach an operator that touches files, other
databases or data. It is an allow-list too: an operator that is not named here, or a table
function other than the schema listings (``LOAD FROM`` is the table function
``READ_CSV_PARALLEL``, ``READ_PARQUET``, ... under ``TABLE_FUNCTION_CALL``), is refused.

Operator names are those Kuzu 0.11.3 prints (measured on its plans).
"""

from __future__ import annotations

import re

# Operators of plans that only read this database's tables and compute.
READ_OPERATORS = frozenset("""
    AGGREGATE AGGREGATE_FINALIZE AGGREGATE_SCAN CROSS_PRODUCT DUMMY_SCAN
    EMPTY_RESULT FILTER FLATTEN HASH_JOIN_BUILD HASH_JOIN_PROBE INDEX_LOOKUP INDEX_SCAN
    INTERSECT INTERSECT_BUILD LIMIT MULTIPLICITY_REDUCER ORDER_BY ORDER_BY_MERGE
    ORDER_BY_SCAN PATH_PROPERTY_PROBE PROJECTION RECURSIVE_EXTEND RECURSIVE_JOIN
    RESULT_COLLECTOR SCAN_NODE_TABLE SCAN_REL_TABLE SCAN_NODE_ID SCAN_MULTI_NODE_TABLES
    SCAN_MULTI_REL_TABLES SEMI_MASKER SKIP TOP_K TOP_K_SCAN UNION_ALL_SCAN UNWIND
    COUNT_REL_TABLE PRIMARY_KEY_SCAN_NODE_TABLE PACKED_EXTEND TABLE_FUNCTION_CALL
    DUMMY_SINK
""".split())  # fmt: skip
# DUMMY_SINK ends a pipeline whose rows are kept elsewhere (a named path's): Kuzu's
# DummySink::executeInternal only pulls its child's tuples and drops them, so what it runs
# is its children, which are checked here like every other operator.
# Table functions allowed under TABLE_FUNCTION_CALL: schema listings, and the engine's
# own read of an intermediate result.
READ_FUNCTIONS = frozenset({"SHOW_TABLES", "TABLE_INFO", "READ_FTABLE"})

_OPERATOR = re.compile(r"│\s*([A-Z][A-Z_]*(?: [A-Z_]+)*)\[(\d+)\]\s*│")
_FUNCTION = re.compile(r"Function: ([A-Za-z_][A-Za-z0-9_]*)")


def refused_operators(plan: str) -> list[str]:
    """The operators and table functions of ``plan`` that the read-only guard refuses.

    A plan whose operators cannot all be found is refused as unreadable: the guard never
    passes what it could not read.
    """
    found = _OPERATOR.findall(plan)
    ids = {int(i) for _, i in found}
    # Kuzu numbers a plan's operators 0..n-1: a gap is an operator this reading missed.
    if not found or ids != set(range(max(ids) + 1)):
        return ["an unreadable plan"]
    refused = sorted({op for op, _ in found if op not in READ_OPERATORS})
    refused += sorted({f"table function {fn}" for fn in _FUNCTION.findall(plan)
                       if fn.upper() not in READ_FUNCTIONS})  # fmt: skip
    return refused
