"""One graph part's rows as a table of distinct texts and integer columns (``graph_parts``).

Why: a part saved as JSON rows spelt every id out wherever it occurs (an entity's id in
its row, in each relation it ends and in each fact that names it), so a 100k-memory
scope's part was 32 MB of JSON, and loading it decoded ~600k strings, interned them, and
filled the copy's maps one row at a time: ~1.1 s of a cold first search (issue 16).
Here each distinct text is decoded once (264k for that part, 15 MB), every place it
occurs is its position in the table, and the maps from an entity to its relations, its
facts and its name keys are grouped by sorting integers, not one dict lookup per row.

A chunk is: its header's length (8 bytes, little-endian); the header, UTF-8 JSON
``{"table": [texts], "columns": {name: [start, count]}}``; zero to three spaces, so that
what follows starts at a multiple of four; the int32 columns, one after another. A text
column holds each row's position in the table, -1 for no value. A list column is two:
``<name>.flat`` (the positions of every row's values, row after row) and ``<name>.sizes``.
Columns are ``e.<field>`` per entity, ``r.<field>`` per relation, ``m.facts`` and
``m.named`` for the facts and the entities each names.

``decode`` checks everything a damaged or forged chunk could break: JSON types, column
bounds, every position in the table, list sizes, equal row counts. What the rows mean
together (unique ids, ends among the part's entities) is ``graph_parts._absorb``'s check.
"""

from __future__ import annotations

import json
from itertools import accumulate, chain, repeat
from typing import Any

import numpy as np

from .snapshot import check

LISTS = ("aliases", "keys", "fact_ids")  # the fields holding a list per row
_HEAD = 8


class Encoder:
    """Builds one chunk from columns of texts (or None) and of list sizes."""

    def __init__(self) -> None:
        self._columns: dict[str, tuple[bool, list[Any]]] = {}  # name -> (texts?, values)

    def texts(self, name: str, values: list[Any]) -> None:
        self._columns[name] = (True, values)

    def lists(self, name: str, values: list[Any]) -> None:
        self.texts(f"{name}.flat", [v for row in values for v in row])
        self._columns[f"{name}.sizes"] = (False, [len(row) for row in values])

    def rows(self, prefix: str, fields: tuple[str, ...], rows: list[Any]) -> None:
        for at, name in enumerate(fields):
            column = [row[at] for row in rows]
            if name in LISTS:
                self.lists(f"{prefix}.{name}", column)
            else:
                self.texts(f"{prefix}.{name}", column)

    def chunk(self) -> bytes:
        # Every distinct text in the order first seen, then each value's position: two
        # passes in C (a dict lookup per value in Python took 0.7 s a 100k-memory part).
        texts = dict.fromkeys(chain.from_iterable(v for is_text, v in self._columns.values()
                                                  if is_text))  # fmt: skip
        texts.pop(None, None)
        table = list(texts)
        at = dict(zip(table, range(len(table)), strict=True))
        at[None] = -1
        bounds, start, parts = {}, 0, []
        for name, (is_text, values) in self._columns.items():
            parts.append(np.fromiter(map(at.__getitem__, values) if is_text else values,
                                     np.int32, len(values)))  # fmt: skip
            bounds[name] = [start, len(values)]
            start += len(values)
        head = json.dumps({"table": table, "columns": bounds}, ensure_ascii=False,
                          separators=(",", ":"), allow_nan=False).encode("utf-8")  # fmt: skip
        body = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        pad = b" " * (-len(head) % 4)
        return len(head).to_bytes(_HEAD, "little") + head + pad + body.astype("<i4").tobytes()


class Decoded:
    """A chunk read back: its table and columns, checked, turned into values on request."""

    def __init__(self, chunk: bytes) -> None:
        check(len(chunk) >= _HEAD, "graph part header")
        size = int.from_bytes(chunk[:_HEAD], "little")
        check(_HEAD + size <= len(chunk), "graph part header")
        head = json.loads(chunk[_HEAD : _HEAD + size].decode("utf-8"))
        check(isinstance(head, dict) and set(head) == {"table", "columns"}, "graph part header")
        table, bounds = head["table"], head["columns"]
        check(isinstance(table, list) and set(map(type, table)) <= {str}, "graph texts")
        check(len(set(table)) == len(table), "a text listed twice in a graph part")
        start = _HEAD + size + (-size % 4)
        check((len(chunk) - start) % 4 == 0, "graph part columns")
        body = np.frombuffer(chunk, "<i4", offset=start)
        check(isinstance(bounds, dict), "graph part columns")
        self.columns: dict[str, np.ndarray] = {}
        for name, where in bounds.items():
            check(isinstance(where, list) and len(where) == 2
                  and all(type(v) is int and v >= 0 for v in where)
                  and where[0] + where[1] <= len(body), f"graph column {name}")  # fmt: skip
            self.columns[name] = body[where[0] : where[0] + where[1]].astype(np.int64)
        self.size = len(table)
        # Position -1 reads the None after the texts. Read by numpy's indexing in C: a
        # Python call per value was ~0.1 s of a 100k-memory part.
        self._texts = np.empty(len(table) + 1, dtype=object)
        self._texts[: len(table)] = table

    def codes(self, name: str, nullable: bool = True) -> np.ndarray:
        """Column ``name``'s positions, each checked to be in the table."""
        column = self.columns.get(name)
        check(column is not None, f"graph column {name} missing")
        if len(column):
            low = -1 if nullable else 0
            check(int(column.min()) >= low and int(column.max()) < self.size,
                  f"graph column {name} outside its table")  # fmt: skip
        return column

    def texts(self, codes: np.ndarray) -> list[Any]:
        return self._texts[codes].tolist()

    def sizes(self, name: str, rows: int) -> list[int]:
        sizes, flat = self.columns.get(f"{name}.sizes"), self.columns.get(f"{name}.flat")
        check(sizes is not None and flat is not None, f"graph column {name} missing")
        check(len(sizes) == rows and (not rows or int(sizes.min()) >= 0)
              and int(sizes.sum()) == len(flat), f"graph column {name} sizes")  # fmt: skip
        return sizes.tolist()

    def lists(self, name: str, rows: int, kind: type = list) -> list[Any]:
        """Each row's list (or ``kind``) of texts."""
        values = self.texts(self.codes(f"{name}.flat", nullable=False))
        ends = list(accumulate(self.sizes(name, rows)))
        starts = [0, *ends][:-1]
        if kind is list:
            return [values[a:b] for a, b in zip(starts, ends, strict=True)]
        return [kind(values[a:b]) for a, b in zip(starts, ends, strict=True)]

    def rows(self, prefix: str, kind: Any) -> list[Any]:
        """``kind`` tuples, one per row of the ``prefix`` columns."""
        first = self.columns.get(f"{prefix}.{kind._fields[0]}")
        check(first is not None, f"graph columns {prefix}")
        count = len(first)
        out = []
        for name in kind._fields:
            full = f"{prefix}.{name}"
            if name in LISTS:  # tuples, as ``HeldEntity.of`` and ``HeldRelation.of`` make
                out.append(self.lists(full, count, tuple))
            else:
                codes = self.codes(full)
                check(len(codes) == count, f"graph column {full} length")
                out.append(self.texts(codes))
        # ``kind._make`` is this plus a length check in Python per row; every column here
        # holds one value per row, checked above.
        return list(map(tuple.__new__, repeat(kind), zip(*out, strict=True)))


def grouped(decoded: Decoded, keys: np.ndarray, values: np.ndarray) -> tuple[list, list]:
    """``(distinct keys, the set of values of each)`` as texts, from paired positions."""
    if not len(keys):
        return [], []
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    texts = decoded.texts(values)
    ends = [*starts[1:].tolist(), len(keys)]
    return (decoded.texts(keys[starts]),
            [set(texts[a:b]) for a, b in zip(starts.tolist(), ends, strict=True)])  # fmt: skip
