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
(``TypeError: unhashable type``), is a ``QueryError`` that says what to return instead.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryError

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
