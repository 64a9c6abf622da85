"""Payload rows by shape: the keys a scope's rows share are said once, not in every row.

Why: a fact's payload as JSON was ~540 bytes, and ~60% of it said again in every row what
the index already knows. Its 21 key names (~210 bytes); its id and scope fields, which
the index keeps by slot (``ScopeIndex.ids``, ``PayloadRows._scopes``); the empty defaults
of the lifecycle fields; a ``hash`` that is the text in lower case; an ``updated_at`` equal
to its ``created_at``. At 1M memories the rows were ~540 MB of the speed suite's peak RSS
(issue 16).

A *shape* is the row's keys in order, each with where its value comes from:

    VALUE    the row's own JSON array of values, in order
    ID       the memory's id (the slot's)
    SCOPE    the row's scope field of that name (kept by slot, checked on load)
    DEFAULT  ``DEFAULTS[key]``, when the value was exactly that (type included)
    LOWER    the row's ``text`` in lower case, when that text is ASCII (whose case
             mapping no Unicode update changes)
    SAME     the value of the key named after the colon, earlier in the row

A shaped row is ``b"\\x01"``, its shape's number, then the JSON array of its VALUE values:
``b'\\x010["Alice works at Acme.","2026-11-30T08:00:00Z",...]'``. Decoding gives back the
payload that was put, key order included. Rows of one scope share a few shapes: facts
written by one version of graphmem share one.

A row that is a JSON object is read as before; one is written so only for a payload with
a key that is not text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..models import SCOPE_FIELDS

VALUE, ID, SCOPE, DEFAULT, LOWER = "v", "id", "scope", "default", "lower"
SAME = "same:"
# Values written into most payloads as they are (models.py): an empty lifecycle field,
# no metadata, a user's turn. Matched by type and value, so 0.0 or False is never read
# back as 0.
DEFAULTS: dict[str, Any] = {
    "agent_id": "", "run_id": "", "valid_at": "", "invalid_at": "", "origin": "",
    "metadata": {}, "source_ids": [], "role": "user", "expires_at": "", "archived_at": "",
    "access_count": 0, "last_accessed_at": "", "promoted_from": "", "kind": "",
}  # fmt: skip
_IDS = ("id", "entity_id")  # the keys a memory's or an entity's own id is under
_SAME_AS = {"updated_at": "created_at"}  # key -> the earlier key it usually equals
_HOWS = frozenset((VALUE, ID, SCOPE, DEFAULT, LOWER))
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

Shape = tuple[tuple[str, str], ...]


class Shapes:
    """The shapes of one index's rows, numbered in the order first seen."""

    def __init__(self, table: Sequence[Shape] = ()) -> None:
        self.table: list[Shape] = list(table)
        self._number = {shape: n for n, shape in enumerate(self.table)}
        self._counts = [_count(shape) for shape in self.table]  # VALUE entries per shape
        self._adding = threading.Lock()  # writes are serialised; this keeps numbers unique

    def encode(self, payload: Mapping[str, Any], point_id: Any) -> bytes | None:
        """``payload`` as a shaped row (``point_id``: the slot's id, or None); None for a
        payload with a key that is not text (a JSON row then, as before)."""
        shape, values = [], []
        for key, value in payload.items():
            if type(key) is not str:
                return None
            how = _how(key, value, payload, point_id, shape)
            shape.append((key, how))
            if how == VALUE:
                values.append(value)
        found = tuple(shape)
        number = self._number.get(found)
        if number is None:
            with self._adding:
                number = self._number.get(found)
                if number is None:
                    self._counts.append(_count(found))  # listed before any row names it
                    self.table.append(found)
                    number = self._number[found] = len(self.table) - 1
        return b"\x01%d" % number + _encode(values).encode("utf-8")

    def decode(self, raw: bytes, point_id: Any, scope: Sequence[str] | None) -> dict[str, Any]:
        """The payload a shaped row was made from; ``ValueError`` if the row and its shape
        disagree (a damaged or forged file)."""
        start = raw.index(b"[")
        number = int(raw[1:start])
        if not 0 <= number < len(self.table):
            raise ValueError(f"a row of shape {number}, which no table entry is")
        shape, values = self.table[number], json.loads(raw[start:])
        if not isinstance(values, list) or len(values) != self._counts[number]:
            raise ValueError("a shaped row's values do not fit its shape")
        out: dict[str, Any] = {}
        given = iter(values)
        for key, how in shape:
            if how == VALUE:
                out[key] = next(given)
            elif how == ID:
                out[key] = point_id
            elif how == SCOPE:
                if scope is None:
                    raise ValueError("a shaped row with no scope")
                out[key] = scope[SCOPE_FIELDS.index(key)]
            elif how == DEFAULT:
                default = DEFAULTS[key]
                out[key] = type(default)() if isinstance(default, dict | list) else default
            elif how == LOWER:
                out[key] = out["text"].lower()
            else:
                out[key] = out[how[len(SAME) :]]
        return out

    def saved(self) -> list[list[list[str]]]:
        """The table as JSON (a snapshot's meta)."""
        return [[[key, how] for key, how in shape] for shape in self.table]

    @classmethod
    def checked(cls, saved: Any) -> Shapes:
        """A table from ``saved``; ``ValueError`` for one no ``encode`` makes."""
        if not isinstance(saved, list):
            raise ValueError("payload shapes are not a list")
        table = []
        for shape in saved:
            if not isinstance(shape, list):
                raise ValueError("a payload shape is not a list")
            seen: list[tuple[str, str]] = []
            for pair in shape:
                if not (isinstance(pair, list) and len(pair) == 2
                        and all(isinstance(p, str) for p in pair)):  # fmt: skip
                    raise ValueError("a payload shape's entry is not [key, how]")
                key, how = pair
                if not _possible(key, how, seen):
                    raise ValueError(f"payload shape: {key!r} cannot come from {how!r}")
                seen.append((key, how))
            if len({key for key, _ in seen}) != len(seen):
                raise ValueError("a payload shape names a key twice")
            table.append(tuple(seen))
        return cls(table)


def _count(shape: Shape) -> int:
    return sum(how == VALUE for _, how in shape)


def _how(key: str, value: Any, payload: Mapping[str, Any], point_id: Any,
         before: list[tuple[str, str]]) -> str:  # fmt: skip
    """Where ``key``'s value can come from when the row is read back."""
    kind = type(value)
    if kind is str:
        if key in SCOPE_FIELDS:
            return SCOPE  # the scope kept by slot is this payload's own (payload_rows._fields)
        if key in _IDS and value == point_id:
            return ID
        if key == "hash" and _lowered(payload, value, before):
            return LOWER
        same = _SAME_AS.get(key)
        if same is not None and (same, VALUE) in before and value == payload.get(same):
            return SAME + same
    if key in DEFAULTS:
        default = DEFAULTS[key]
        if kind is type(default) and value == default:
            return DEFAULT
    return VALUE


def _lowered(payload: Mapping[str, Any], value: str, before: list[tuple[str, str]]) -> bool:
    text = payload.get("text")
    return (("text", VALUE) in before and type(text) is str and text.isascii()
            and value == text.lower())  # fmt: skip


def _possible(key: str, how: str, before: list[tuple[str, str]]) -> bool:
    """Whether ``encode`` could have written ``key`` as ``how`` after ``before``."""
    if how.startswith(SAME):
        return _SAME_AS.get(key) == how[len(SAME) :] and (how[len(SAME) :], VALUE) in before
    if how not in _HOWS:
        return False
    return {
        VALUE: True,
        ID: key in _IDS,
        SCOPE: key in SCOPE_FIELDS,
        DEFAULT: key in DEFAULTS,
        LOWER: key == "hash" and ("text", VALUE) in before,
    }[how]
