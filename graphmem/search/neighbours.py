"""Neighbours: a memory's context is the memories stored next to it in its conversation.

A question often matches one turn while the answer is in the next ("What did Mel
recommend?" matches Caroline asking for a book; Melanie's reply names it), in the turn
before, or in the speaker's own next turn. So a memory is lifted
``Recipe.neighbour_weight`` of the way towards the text score of a better-scoring
neighbour, and the neighbours of every candidate are scored too, so the reply can enter
the list although no channel found it on its own.

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

Measured on LoCoMo (``text`` recipe, MiniLM, categories 1-4, Snowball BM25; all /
conversations 0-4 / 5-9; settings chosen on 0-4, the weight as the round "halfway" where
recall is flat from 0.4 to 0.7):

    neighbour_weight, reach   recall@10              multi-hop all-gold@10
    0 (none)                  0.657 (0.677 / 0.637)  0.181 (0.211 / 0.150)
    0.3, 1                    0.692 (0.718 / 0.666)  0.188 (0.225 / 0.150)
    0.4, 1                    0.703 (0.725 / 0.680)  0.188 (0.225 / 0.150)
    0.5, 1                    0.706 (0.727 / 0.686)  0.181 (0.211 / 0.150)
    0.6, 1                    0.712 (0.732 / 0.693)  0.181 (0.204 / 0.157)
    0.7, 1                    0.706 (0.725 / 0.687)  0.174 (0.190 / 0.157)
    1.0, 1                    0.664 (0.680 / 0.647)  0.128 (0.141 / 0.114)
    0.4, 2                    0.727 (0.754 / 0.702)  0.184 (0.218 / 0.150)
    0.5, 2 (text, hybrid)     0.739 (0.762 / 0.716)  0.184 (0.204 / 0.164)
    0.6, 2                    0.735 (0.755 / 0.716)  0.167 (0.197 / 0.136)
    0.5, 3                    0.734 (0.752 / 0.716)  0.174 (0.190 / 0.157)

Reach 2 is the speaker's own next turn when two people take turns (say, a question
matches "I've been reading a lot lately" and the title follows two turns later).
Reaching further gained nothing (reach 4: 0.737) and cost multi-hop all-gold@10 (0.167),
whose questions need several distinct turns; a weight decaying with distance (0.8 per
step, reach 3) scored 0.732.

Other forms, at reach 1 and BM25 k1 0.9, b 0.4 (where no lifting scored 0.672):
adding 0.3 x the best neighbour's score to every memory, 0.708, but on the synthetic
suite a memory stored with others then outranked a current fact stored alone (current
@1 1.000 -> 0.960); the mean of both neighbours instead of the better one, 0.692;
the best memory of the whole session instead of the adjacent ones, 0.689. Lifting by the
full fused score rather than its text share let the synthetic suite's hybrid pass a
graph path's strength to unrelated facts stored at the same instant (hop-2 recall@10
0.782). With the text share the cost there is 0.873 -> 0.860: its generator stamps all
of a scope's relation facts with one time, so their neighbours are unrelated.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from typing import Any

from .fuse import Fused

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

    One list per ``valid_at``, sorted on its first read after a change: a write costs an
    append, and a search pays only for the groups its candidates are in, never for
    rebuilding the scope's whole table (measured with 100k memories in 28 groups: all
    added in 0.1 s; the first read of a group ~10 ms, a read after one more write ~1 ms).
    """

    def __init__(self) -> None:
        self._groups: dict[str, list[tuple[str, str, str]]] = {}
        self._unsorted: set[str] = set()
        self._entry: dict[str, tuple[str, tuple[str, str, str]]] = {}  # id -> (group, entry)
        self._keys: dict[str, tuple[Any, ...]] = {}  # id -> sort key, computed on first sort

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
        entry = (str(sources[0]), str(payload.get("created_at", "")), point_id)
        self._groups.setdefault(group, []).append(entry)
        self._unsorted.add(group)
        self._entry[point_id] = (group, entry)

    def remove(self, point_id: str) -> None:
        found = self._entry.get(point_id)
        if found is None:
            return
        group, entry = found
        members = self._members(group)
        del members[bisect.bisect_left(members, self._key(entry), key=self._key)]
        del self._entry[point_id]
        self._keys.pop(point_id, None)
        if not members:
            del self._groups[group]

    def of(self, point_id: str, reach: int = 1) -> tuple[str, ...]:
        """The memories stored up to ``reach`` places before and after ``point_id``."""
        found = self._entry.get(point_id)
        if found is None:
            return ()
        group, entry = found
        members = self._members(group)
        i = bisect.bisect_left(members, self._key(entry), key=self._key)
        return tuple(m[-1] for m in members[max(0, i - reach) : i] + members[i + 1 : i + 1 + reach])

    def _members(self, group: str) -> list[tuple[str, str, str]]:
        members = self._groups[group]
        if group in self._unsorted:
            members.sort(key=self._key)
            self._unsorted.discard(group)
        return members

    def _key(self, entry: tuple[str, str, str]) -> tuple[Any, ...]:
        source, created_at, point_id = entry
        key = self._keys.get(point_id)
        if key is None:
            key = self._keys[point_id] = (order_key(source), created_at, point_id)
        return key


def smooth(
    fused: list[Fused],
    neighbours: Callable[[str], Iterable[str]],
    weight: float,
    channels: Iterable[str] = ("vector", "keyword"),
) -> list[Fused]:
    """Lift each memory ``weight`` of the way towards its best neighbour, re-sorted.

    What is compared is the share of the text ``channels`` (words and meaning): being
    said next to a memory that matches the query is context; the graph's path scores are
    about a memory's own entities and do not carry over to the one beside it. Only a
    neighbour scoring higher lifts, and never past itself, so the best text match keeps
    its place. Only neighbours present in ``fused`` count (the caller has admitted and
    scored them); the lift is recorded in ``parts["neighbour"]``.
    """
    if weight <= 0.0 or not fused:
        return fused
    wanted = tuple(channels)
    text = {f.memory_id: sum(f.parts.get(c, 0.0) for c in wanted) for f in fused}
    out = []
    for f in fused:
        best = max((text[n] for n in neighbours(f.memory_id) if n in text), default=0.0)
        own = text[f.memory_id]
        if best > own:
            lift = weight * (best - own)
            f = Fused(f.memory_id, f.score + lift, {**f.parts, "neighbour": lift},
                      dict(f.raw), dict(f.ranks))  # fmt: skip
        out.append(f)
    return sorted(out, key=lambda f: (-f.score, f.memory_id))
