"""A relationship's ``fact_ids`` on Kuzu: a JSON array kept in a STRING property.

Measured on Kuzu 0.11.3, a script writing 1,000 facts, 250 entities and 700 relations per
transaction and checkpointing every 20,000 facts: with ``fact_ids STRING[]`` on RELATES,
each checkpoint took longer as the graph grew (0.1, 1.0, 3.5, 7.8, 13.4 s at 20k to 100k
facts); with the same property as a STRING, 0.1-0.4 s. Lists on node tables (an
entity's aliases and keys, rewritten every batch for hub entities) and the property-less
MENTIONS stayed flat. Through ``Memory.add_many`` (hash embedder, 120k generated memories,
three scopes), Kuzu's automatic checkpoints stalled the ingest for 8, 15, 19, 26 and 36 s,
most of its time. Nothing else reads the list inside Kuzu: graphmem's own queries return
it whole, and the in-process graph index does the lookups.

So a new database declares ``fact_ids`` as STRING (``cypher/kuzu/schema_relates.cypher``)
and the store packs the list on the way in and unpacks it on the way out. For
``Memory.cypher``, where a column can be named anything, a statement that names
``fact_ids`` gets every text value that is a packed list (JSON array of strings) back as
a list, whole relationships included. A database created before keeps its STRING[]
column and is read and written as before: the store asks the table's schema at open
(``packed``). A filter on the property inside Cypher sees the JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

FIELD = "fact_ids"


def packed(table_info: Iterable[Mapping[str, Any]]) -> bool:
    """Whether RELATES keeps ``fact_ids`` as text, from ``CALL table_info('RELATES')``."""
    for column in table_info:
        if column.get("name") == FIELD:
            return str(column.get("type", "")).upper() == "STRING"
    return False


def pack(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # already packed
        return value
    return json.dumps([str(v) for v in value], ensure_ascii=False)


def pack_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with each ``fact_ids`` list as JSON text (rows without one unchanged)."""
    if not rows or FIELD not in rows[0]:
        return rows
    return [{**row, FIELD: pack(row.get(FIELD))} for row in rows]


def unpack(value: Any) -> Any:
    """The list back from its text; anything else (an old STRING[] column's list, a
    null) as it came."""
    if not isinstance(value, str):
        return value
    try:
        ids = json.loads(value)
    except ValueError:
        return [value]
    return ids if isinstance(ids, list) else [value]


def unpack_listlike(value: Any) -> Any:
    """``value`` as a list if it is a packed list (a JSON array of strings), else as it came:
    for user statements, whose columns may carry the property under any name."""
    if not (isinstance(value, str) and value.startswith("[")):
        return value
    try:
        ids = json.loads(value)
    except ValueError:
        return value
    if isinstance(ids, list) and all(isinstance(i, str) for i in ids):
        return ids
    return value
