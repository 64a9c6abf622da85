"""A scope's payloads loaded from a snapshot, each decoded from JSON when first read.

Why: decoding every payload of a scope at once cost ~1 s per 100k memories (json.loads
of ~55 MB, measured here under load), most of a cold start's first search with saved
indexes, and a search reads a few hundred of them. ``ScopeIndex.payloads`` is only ever
indexed, assigned, appended to and measured, so this stands in for its list.

Each row's scope fields are also kept apart (``scopes``) and checked against the index's
scope when the snapshot loads; a row whose decoded fields differ from them (a file made
to pass the checksums) raises ``StorageError`` rather than answer from another scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import StorageError
from ..models import SCOPE_FIELDS
from ..stores.graph_index import same_text

_RAW = object()  # a row not decoded yet
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class PayloadRows:
    """``list``-like payloads over ``blob`` (row ``i`` is ``blob[offsets[i]:offsets[i+1]]``)."""

    def __init__(self, blob: bytes, offsets: Sequence[int], scopes: list[Any], where: str):
        self._blob, self._offsets, self._scopes, self._where = blob, offsets, scopes, where
        self._rows: list[Any] = [_RAW] * (len(offsets) - 1)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, slot: int) -> dict[str, Any] | None:
        row = self._rows[slot]
        if row is _RAW:
            row = self._rows[slot] = self._decode(slot)
        return row

    def __setitem__(self, slot: int, value: dict[str, Any] | None) -> None:
        self._rows[slot] = value
        self._scopes[slot] = _fields(value)

    def append(self, value: dict[str, Any] | None) -> None:
        self._rows.append(value)
        self._scopes.append(_fields(value))

    def __iter__(self) -> Iterator[dict[str, Any] | None]:
        return (self[slot] for slot in range(len(self._rows)))

    def raw(self, slot: int) -> bytes:
        """Row ``slot`` as JSON bytes, undecoded when it was never read."""
        if self._rows[slot] is _RAW:
            return self._blob[self._offsets[slot] : self._offsets[slot + 1]]
        return _ENCODE(self._rows[slot]).encode("utf-8")

    def _decode(self, slot: int) -> dict[str, Any] | None:
        try:
            row = json.loads(self._blob[self._offsets[slot] : self._offsets[slot + 1]])
            if isinstance(row, dict):
                shared(row)
        except ValueError:
            row = _RAW
        fields = _fields(row) if isinstance(row, dict) else None
        if (row is not None or self._scopes[slot] is not None) and fields != self._scopes[slot]:
            raise StorageError(self._where, f"the saved search index in {self._where} is "
                               "damaged (a payload that is not what it says); delete that "
                               "folder and the index is rebuilt from the stores")  # fmt: skip
        return row


def rows_blob(payloads: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(blob, offsets)``: every payload as JSON, back to back (``null`` for none)."""
    raw = payloads.raw if isinstance(payloads, PayloadRows) else None
    parts = [raw(slot) if raw else _ENCODE(p).encode("utf-8") for slot, p in _each(payloads)]
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return np.frombuffer(b"".join(parts), np.uint8), offsets


def _each(payloads: Any) -> Iterator[tuple[int, Any]]:
    if isinstance(payloads, PayloadRows):
        return ((slot, None) for slot in range(len(payloads)))
    return enumerate(payloads)


def scopes_of(payloads: Any) -> list[list[str] | None]:
    """Each row's scope fields, read without decoding rows not read yet."""
    if isinstance(payloads, PayloadRows):
        return list(payloads._scopes)
    return [_fields(p) for p in payloads]


def _fields(payload: dict[str, Any] | None) -> list[str] | None:
    return None if payload is None else [payload.get(k, "") for k in SCOPE_FIELDS]


# Payload fields whose values repeat across memories (a scope, a batch's time, a kind): held
# as one string object each. An index built from the store, or a snapshot's rows decoded,
# carries a fresh copy of each per memory, ~75 bytes a time stamp.
_REPEATED = ("user_id", "agent_id", "run_id", "created_at", "updated_at", "valid_at",
             "invalid_at", "kind", "role", "origin", "memory_type", "expires_at",
             "archived_at", "last_accessed_at", "promoted_from")  # fmt: skip


def shared(payload: dict[str, Any]) -> dict[str, Any]:
    for name in _REPEATED:
        if name in payload:
            payload[name] = same_text(payload[name])
    return payload
