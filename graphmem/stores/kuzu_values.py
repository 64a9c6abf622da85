"""Values of a user's Kuzu result that Python cannot hold, found before they crash it.

Kuzu 0.11.3 turns a DATE or TIMESTAMP into a Python ``date``/``datetime`` as it hands a
row over, and one outside years 1-9999 (``date('10000-01-01')``, ``timestamp('9999-12-31
23:59:59') + interval('1 day')``) ends the process with a segmentation fault: one admin
request took ``graphmem serve`` down (found by a hostile-input probe). The same values
read as Arrow arrays fail as a Python exception. So a result with a date or timestamp
column is read once as Arrow, those columns are checked, and the caller reads it again
the usual way (``KuzuGraphStore._user_rows``); no stored property is a date, so only a
statement that makes dates pays for the second read.

Also here: a MAP whose keys are lists or structs, which Python's dict cannot take
(``TypeError: unhashable type``), is a ``QueryError`` that says what to return instead;
and ``clean``, which gives a node, relationship or path as the Neo4j store gives it.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryError
from . import kuzu_lists

_TIMELY = ("DATE", "TIMESTAMP")


def dated(result: Any) -> list[str]:
    """The result's columns whose type holds a date or a timestamp, nested ones included."""
    types = result.get_column_data_types()
    names = result.get_column_names()
    return [n for n, t in zip(names, types, strict=True) if any(k in t.upper() for k in _TIMELY)]


def check_dates(result: Any, columns: list[str], max_rows: int | None) -> None:
    """Raise ``QueryError`` when a value of ``columns`` is outside Python's years. Reads
    the result to its end (as Arrow: nothing is turned into Python objects but the dates
    of the first ``max_rows`` + 1 rows, which is as far as the caller reads)."""
    table = result.get_as_arrow()
    if max_rows is not None:
        table = table.slice(0, max_rows + 1)
    try:
        table.select(columns).to_pylist()
    except (OverflowError, ValueError) as exc:
        raise QueryError(
            f"cypher: a DATE or TIMESTAMP in the result is outside years 1-9999, which "
            f"Python cannot hold ({exc}); return it as text with string(...), or keep the "
            "date inside that range",
            query_name="user",
        ) from exc


def unhashable(exc: TypeError) -> QueryError:
    return QueryError(
        f"cypher: a value in the result cannot be turned into Python ({exc}): a MAP whose "
        "keys are lists or structs has no Python form; return map_keys(m) and "
        "map_values(m), or string(m), instead",
        query_name="user",
    )


_INTERNAL = frozenset({"_id", "_label", "_src", "_dst"})  # Kuzu's own keys of a node or rel


def clean(value: Any) -> Any:
    """Kuzu nodes/rels come back as dicts with internal ``_id``/``_label`` keys: drop them.
    A path (``_nodes``, ``_rels``) becomes ``{"nodes": [...], "relationships": [...]}``, as
    the Neo4j store gives it; dropping every key that starts with "_" returned it as {},
    and a map the user built with such keys too."""
    if isinstance(value, dict):
        if "_nodes" in value and "_rels" in value:
            return {"nodes": clean(value["_nodes"]), "relationships": clean(value["_rels"])}
        return {k: kuzu_lists.unpack(v) if k == kuzu_lists.FIELD else clean(v)
                for k, v in value.items() if k not in _INTERNAL}  # fmt: skip
    if isinstance(value, list):
        # Most lists hold strings (aliases, fact_ids): leave them as they came.
        if any(isinstance(v, dict | list) for v in value):
            return [clean(v) for v in value]
        return value
    return value
