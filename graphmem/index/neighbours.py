"""Which memories are neighbours: stored next to each other in one conversation.

Two memories are neighbours when they belong to one conversation (``conversation_of``:
a session in their metadata, else their source ids' prefix, "D1:" of "D1:7", else the
day they were said) and are at most ``Recipe.neighbour_reach`` places apart in the order
of their source ids, compared as text with digit runs as numbers ("D1:9" < "D1:10").
Memories without source ids, or with nothing that says which conversation they are in
(passages numbered "6", "10"), have none. Until November 2026 the conversation was the
exact ``valid_at``: turns that each carried their own time then had no neighbours, which
cost 0.02 recall@10 on a held-out conversational set. The order assumes source ids that
sort in message order (sequential ids, timestamps, ULIDs); random ids make neighbours
arbitrary memories of the same conversation.

How search uses them, and what they are worth, is in ``search/neighbours.py``.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

_DIGITS = re.compile(r"(\d+)")
_LAST_NUMBER = re.compile(r"\d+\D*$")
SESSION_KEYS = ("session", "session_id", "conversation", "conversation_id", "thread",
                "thread_id")  # fmt: skip


def conversation_of(payload: dict[str, Any]) -> str | None:
    """Which conversation a memory belongs to, or None when nothing says so.

    The first that applies: a ``session``/``conversation``/``thread`` (or ``*_id``) in its
    metadata; its first source id without the last number ("D1:" of "D1:7", "chat-4/" of
    "chat-4/12"); the day of its ``valid_at`` (turns said on one day). Turns that each carry
    their own time still share a session or a day, so they stay neighbours; passages
    numbered "6", "10" with no time have no conversation, and no neighbours.
    """
    metadata = payload.get("metadata") or {}
    for key in SESSION_KEYS:
        value = metadata.get(key) if isinstance(metadata, dict) else None
        if value not in (None, ""):
            return f"session\x1f{key}\x1f{value}"
    sources = payload.get("source_ids") or []
    prefix = _LAST_NUMBER.sub("", str(sources[0])) if sources else ""
    if prefix:
        return f"source\x1f{prefix}"
    when = str(payload.get("valid_at") or "")
    return f"day\x1f{when[:10]}" if when else None


def order_key(source_id: str) -> tuple[tuple[int, int, str], ...]:
    """``source_id`` as a sort key whose digit runs compare as numbers."""
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part)
        for part in _DIGITS.split(source_id)
        if part
    )


def entry_texts(payload: dict[str, Any]) -> tuple[str, str, str] | None:
    """``(conversation, first source, created_at)`` of a memory, or None when it has no
    neighbours. The first source carries the memory's ``turn`` where it has one: one add's
    messages kept one by one share its source ids, and their turn orders them, after the
    add's own memories (``ingest/sources.py``)."""
    sources = payload.get("source_ids") or []
    if not sources:
        return None
    group = conversation_of(payload)
    if group is None:
        return None
    first, turn = str(sources[0]), payload.get("turn")
    if isinstance(turn, int) and not isinstance(turn, bool):
        first = f"{first}\x1f{turn}"
    return group, first, str(payload.get("created_at", ""))


class Rows(Protocol):
    """The owner's payload rows (``payload_rows.PayloadRows``)."""

    def raw(self, slot: int) -> bytes: ...
    def read(self, slot: int, raw: bytes) -> Any: ...


class NeighbourTable:
    """The neighbours of a scope's memories, kept in step with every put and remove.

    Memories are held by slot (the owner's, ``ScopeIndex``): each group (a conversation)
    keeps its members' slots sorted as an array, plus a tail of those added since its
    last read. A write appends to the tail; the first read of a group after writes merges
    its tail in, so a search pays only for the groups its candidates are in. A remove
    never sorts: it finds the member by its place and cuts it out.

    Why slots and not entries: each member was a tuple of its id, first source and time,
    with a map from id to entry and one from id to place (~360 bytes a memory, 36 MB a
    100k scope, ~360 MB of the 1M speed run's RAM; issue 16). Now a member is 4 bytes of
    its group's array and 8 of two arrays by slot. Sorting needs a member's texts only
    when a write lands among sorted members; they are read then from its payload row
    (``rows``), not kept. A table made alone (``NeighbourTable()``) numbers its ids
    itself and keeps their texts.
    """

    def __init__(self, slot_of: dict[str, int] | None = None,
                 ids: Sequence[str | None] | None = None,
                 rows: Rows | None = None) -> None:  # fmt: skip
        self._alone = slot_of is None or rows is None
        self._slot_of: dict[str, int] = {} if slot_of is None else slot_of
        self._ids: Any = [] if ids is None else ids
        self._held: dict[int, tuple[str, str, str]] = {}  # a table made alone: texts by slot
        self._rows = None if self._alone else rows
        self._names: list[str] = []  # group number -> conversation
        self._number: dict[str, int] = {}
        self._group = np.full(64, -1, np.int32)  # slot -> its group's number, -1: none
        self._place = np.zeros(64, np.int32)  # slot -> its place, in groups ``_placed``
        self._placed: set[int] = set()
        self._members: dict[int, np.ndarray] = {}  # group -> slots in order (int32)
        self._tails: dict[int, dict[int, tuple[str, str, str]]] = {}  # group -> slot -> texts
        self._count = 0
        # Searches run side by side (writes never beside them): the first to read a group
        # merges its tail while the others wait, so none reads a group half merged.
        self._merging = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def add(self, point_id: str, payload: dict[str, Any]) -> None:
        self.remove(point_id)
        texts = entry_texts(payload)
        if texts is None:
            return
        slot = self._slot(point_id)
        number = self._number.get(texts[0])
        if number is None:
            number = self._number[texts[0]] = len(self._names)
            self._names.append(texts[0])
        if slot >= len(self._group):
            more = max(slot + 1, 2 * len(self._group)) - len(self._group)
            self._group = np.concatenate([self._group, np.full(more, -1, np.int32)])
            self._place = np.concatenate([self._place, np.zeros(more, np.int32)])
        self._group[slot] = number
        self._tails.setdefault(number, {})[slot] = texts
        self._placed.discard(number)
        if self._alone:
            self._held[slot] = texts
        self._count += 1

    def remove(self, point_id: str, slot: int | None = None) -> None:
        """Forget ``point_id``; ``slot`` is its slot where the owner let go of it already."""
        slot = self._slot_of.get(point_id) if slot is None else slot
        if slot is None or slot >= len(self._group) or self._group[slot] < 0:
            return
        number = int(self._group[slot])
        self._group[slot] = -1
        self._count -= 1
        self._held.pop(slot, None)
        tail = self._tails.get(number)
        if tail is not None and tail.pop(slot, None) is not None:
            if not tail:
                del self._tails[number]
        else:
            members = self._members[number]
            at = (int(self._place[slot]) if number in self._placed
                  else int(np.flatnonzero(members == slot)[0]))  # fmt: skip
            members = np.delete(members, at)
            if len(members):
                self._members[number] = members
            else:
                del self._members[number]
        self._placed.discard(number)

    def of(self, point_id: str, reach: int = 1) -> tuple[str, ...]:
        """The memories stored up to ``reach`` places before and after ``point_id``."""
        slot = self._slot_of.get(point_id)
        if slot is None or slot >= len(self._group):
            return ()
        number = self._group.item(slot)  # a search asks ~500 times: no numpy scalars
        if number < 0:
            return ()
        members = self._sorted(number) if number in self._tails else self._members[number]
        if number not in self._placed:
            self._place[members] = np.arange(len(members), dtype=np.int32)
            self._placed.add(number)
        at, ids = self._place.item(slot), self._ids
        near = members[max(0, at - reach) : at + 1 + reach].tolist()
        return tuple([ids[s] for s in near if s != slot])

    def sorted_groups(self) -> dict[str, list[str]]:
        """Every group's members' ids in order (``columns`` with ids for slots)."""
        names, ends, slots = self.columns()
        ids, starts = self._ids, [0, *ends.tolist()]
        return {name: [ids[s] for s in slots[starts[n] : starts[n + 1]].tolist()]
                for n, name in enumerate(names)}  # fmt: skip

    def columns(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """``(names, ends, slots)``: each group's name, where its members end among
        ``slots``, and its members' slots in order (what a snapshot saves)."""
        numbers = list(dict.fromkeys([*self._members, *self._tails]))
        parts = [self._sorted(number) for number in numbers]
        ends = np.cumsum([len(part) for part in parts], dtype=np.int64)
        slots = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
        return [self._names[n] for n in numbers], ends, slots

    def restore(self, names: list[str], ends: np.ndarray, slots: np.ndarray) -> None:
        """Take a snapshot's ``columns`` (checked by the caller) into an empty table."""
        size = max(64, int(slots.max()) + 1 if len(slots) else 0, len(self._ids))
        self._group = np.full(size, -1, np.int32)
        self._place = np.zeros(size, np.int32)
        starts = [0, *ends.tolist()]
        for number in range(len(names)):
            members = slots[starts[number] : starts[number + 1]].astype(np.int32)
            self._members[number] = members
            self._group[members] = number
        self._names, self._number = list(names), {name: n for n, name in enumerate(names)}
        self._count = len(slots)

    def _slot(self, point_id: str) -> int:
        if not self._alone:
            return self._slot_of[point_id]
        slot = self._slot_of.get(point_id)
        if slot is None:
            slot = self._slot_of[point_id] = len(self._ids)
            self._ids.append(point_id)
        return slot

    def _texts_of(self, slot: int) -> tuple[str, str, str]:
        """A sorted member's texts: kept by a table made alone, else read from its row."""
        rows = self._rows
        found = (
            self._held.get(slot) if rows is None else entry_texts(rows.read(slot, rows.raw(slot)))
        )
        # A member was added with them; only a snapshot forged past its checksums could
        # list one whose row has none. It sorts first then: a search never fails on it.
        return ("", "", "") if found is None else found

    def _sorted(self, number: int) -> np.ndarray:
        """Group ``number``'s members in order, its tail merged in first."""
        if number not in self._tails:
            return self._members[number]
        with self._merging:
            tail = self._tails.get(number)
            members = self._members.get(number, np.zeros(0, np.int32))
            if tail:
                known: dict[int, tuple[Any, ...]] = {}

                def key(slot: Any) -> tuple[Any, ...]:
                    slot = int(slot)
                    found = known.get(slot)
                    if found is None:
                        texts = tail.get(slot) or self._texts_of(slot)
                        found = known[slot] = (order_key(texts[1]), texts[2], self._ids[slot])
                    return found

                added = sorted(tail, key=key)
                if len(added) * 16 < len(members):  # a few into many: each in its place
                    for slot in added:
                        at = bisect.bisect_left(members, key(slot), key=key)
                        members = np.insert(members, at, slot)
                else:  # read every member's texts, then one sort
                    members = np.array(sorted([*members.tolist(), *added], key=key), np.int32)
                self._members[number] = members.astype(np.int32, copy=False)
                self._placed.discard(number)
                del self._tails[number]  # only now: a reader seeing no tail reads it whole
            return self._members[number]
