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
from typing import Any

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


class NeighbourTable:
    """The neighbours of a scope's memories, kept in step with every put and remove.

    Each group (a conversation) keeps its members sorted, plus a tail of those added since
    its last read. A write appends to the tail; the first read of a group after writes
    merges its tail in, so a search pays only for the groups its candidates are in
    (measured with 100k memories in 28 groups: all added in 0.1 s; the first read of a
    group ~10 ms, a read after one more write ~1 ms). A remove never sorts: it deletes
    from the tail or bisects the sorted members. Until November 2026 a remove sorted its
    whole group first when the group had unread adds, and re-putting 1,000 memories that
    were already stored, in a scope of 100k, took 18 s.
    """

    def __init__(self) -> None:
        self._groups: dict[str, list[tuple[str, str, str]]] = {}  # sorted by ``_key``
        self._tails: dict[str, dict[str, tuple[str, str, str]]] = {}  # group -> id -> entry
        self._entry: dict[str, tuple[str, tuple[str, str, str]]] = {}  # id -> (group, entry)
        self._keys: dict[str, tuple[Any, ...]] = {}  # id -> sort key, computed when needed
        # group -> {id: its place in the sorted group}, built on the first ``of`` after a
        # change: a search asks for ~500 places, and a bisection through a group of 100k
        # (a scope whose memories are one conversation) cost ~0.2 ms each (measured).
        self._places: dict[str, dict[str, int]] = {}
        # Searches run side by side (writes never beside them): the first to read a group
        # merges its tail while the others wait, so none reads a list being sorted.
        self._merging = threading.Lock()

    def __len__(self) -> int:
        return len(self._entry)

    def add(self, point_id: str, payload: dict[str, Any]) -> None:
        self.remove(point_id)
        sources = payload.get("source_ids") or []
        if not sources:
            return
        group = conversation_of(payload)
        if group is None:
            return
        first, turn = str(sources[0]), payload.get("turn")
        if isinstance(turn, int) and not isinstance(turn, bool):
            # One add's messages kept one by one share its source ids: their turn orders
            # them, after the add's own memories (``ingest/sources.py``).
            first = f"{first}\x1f{turn}"
        entry = (first, str(payload.get("created_at", "")), point_id)
        self._tails.setdefault(group, {})[point_id] = entry
        self._places.pop(group, None)
        self._entry[point_id] = (group, entry)

    def remove(self, point_id: str) -> None:
        found = self._entry.pop(point_id, None)
        if found is None:
            return
        group, entry = found
        self._places.pop(group, None)
        tail = self._tails.get(group)
        if tail is not None and tail.pop(point_id, None) is not None:
            if not tail:
                del self._tails[group]
        else:
            members = self._groups[group]
            del members[bisect.bisect_left(members, self._key(entry), key=self._key)]
            if not members:
                del self._groups[group]
        self._keys.pop(point_id, None)

    def of(self, point_id: str, reach: int = 1) -> tuple[str, ...]:
        """The memories stored up to ``reach`` places before and after ``point_id``."""
        found = self._entry.get(point_id)
        if found is None:
            return ()
        group, _entry = found
        members = self._members(group)
        places = self._places.get(group)
        if places is None:
            places = self._places[group] = {m[-1]: i for i, m in enumerate(members)}
        i = places[point_id]
        return tuple(m[-1] for m in members[max(0, i - reach) : i] + members[i + 1 : i + 1 + reach])

    def sorted_groups(self) -> dict[str, list[tuple[str, str, str]]]:
        """Every group's members in order (what a snapshot saves)."""
        return {group: self._members(group) for group in [*self._groups, *self._tails]}

    def _members(self, group: str) -> list[tuple[str, str, str]]:
        """The group's members in order, its tail merged in first."""
        if group not in self._tails:
            return self._groups[group]
        with self._merging:
            tail = self._tails.get(group)
            members = self._groups.setdefault(group, [])
            if tail:
                added = sorted(tail.values(), key=self._key)
                if len(added) * 16 < len(members):  # a few into many: insert each in place
                    for entry in added:
                        bisect.insort(members, entry, key=self._key)
                else:
                    members.extend(added)
                    members.sort(key=self._key)  # two sorted runs: one linear merge
                del self._tails[group]  # only now: a reader seeing no tail reads it whole
            return members

    def _key(self, entry: tuple[str, str, str]) -> tuple[Any, ...]:
        source, created_at, point_id = entry
        key = self._keys.get(point_id)
        if key is None:
            key = self._keys[point_id] = (order_key(source), created_at, point_id)
        return key
