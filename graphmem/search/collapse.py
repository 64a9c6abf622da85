"""One hit per message: facts split from one source message are searched as one group.

An extractor turns a message into several facts ("Caroline: I went to a support group
yesterday. It was so powerful." -> two sentence facts, or an LLM's paraphrases). Searched
one by one, the facts crowd the top k with fragments of one message (LoCoMo's top 10 held
~8.5 distinct messages) and each fragment has lost its message's context: recall@10 fell
from 0.737 (messages stored whole) to 0.633. So ``add()`` also keeps the message whole as a
*source* (``ingest/pipeline.py::source_of``), and search treats it as the unit:

- in the flat channels (vector, keyword) the source stands for its facts: it is scored,
  they are not. Measured on LoCoMo conversations 0-2 (hybrid recall@10; messages stored
  whole 0.797): scoring each group by its best member, source or fact, 0.788 (a fragment
  of an unrelated message often beat the right message's vector); the source alone, with
  the fragments still in BM25's statistics, 0.758; the source alone with BM25 over
  sources and whole memories only (``index/scope.py``), see ``docs/search-recipes.md``;
- the graph channel still reaches facts through the entities they mention, and a fact it
  finds lifts its group;
- a group is admitted when at least one of its facts is (scope, time, filters): the source
  itself is not a memory and carries no validity of its own;
- the hit shows the message when every fact of it is admitted, else the admitted facts,
  and names the memories it stands for in ``Hit.memory_ids``.

A memory with no source (stored verbatim, or a one-fact message) is a group of one, so
``infer=False`` data searches exactly as before. ``collapse=False`` returns facts one by
one; each scores at least what its source scores in the flat channels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..index import ScopeIndex, Scores, is_source

Accept = Callable[[Mapping[str, Any]], bool]


class Groups:
    """The grouping of one search: which point stands for which hit, and who is admitted."""

    def __init__(self, index: ScopeIndex, accept: Accept, enabled: bool = True) -> None:
        self.index, self._accept, self.enabled = index, accept, enabled
        # An accept that reads only a gate's fields (``index/payload_rows.py``) is given
        # gates: admitting a candidate then decodes no payload.
        self.gated = bool(getattr(accept, "gated", False))
        self.row = index.gate if self.gated else index.payload
        self._admitted: dict[str, list[str]] = {}  # group key -> its admitted memories

    def key(self, point_id: str) -> str:
        return self.index.group_of.get(point_id, point_id) if self.enabled else point_id

    def members(self, key: str) -> list[str]:
        """The admitted memories (never sources) of a group, in the order they were stored."""
        found = self._admitted.get(key)
        if found is None:
            ids = self.index.groups.get(key, [key]) if self.enabled else [key]
            found = [i for i in ids
                     if not self.index.kept_source(i) and (p := self.row(i)) is not None
                     and self._accept(p)]  # fmt: skip
            self._admitted[key] = found
        return found

    def _source(self, point_id: str) -> str | None:
        """The source a memory was split from, if it is kept."""
        # A memory's group is its origin when it has one (``ScopeIndex.put``), else itself.
        origin = self.index.group_of.get(point_id)
        return origin if origin not in (None, point_id) and self.index.kept_source(origin) else None

    def admits(self, payload: Mapping[str, Any]) -> bool:
        """``Scores.top``'s test for one point of a flat channel.

        Collapsed, a source stands for its facts (admitted when one of them is) and the
        facts are not ranked on their own; apart, a source is only scored for its facts.
        """
        if is_source(payload):
            key = str(payload.get("id", ""))
            if self.enabled:
                return bool(self.members(key))
            return any(self._accept(self.row(i) or {})
                       for i in self.index.groups.get(key, ()) if i != key)  # fmt: skip
        if self.enabled and payload.get("origin") and self._source(str(payload["id"])):
            return False
        return self._accept(payload)

    def points(self, key: str) -> list[str]:
        """What a flat channel scores for a hit: its source when it has one, else itself
        (apart: the memory and the source it came from, whichever scores better)."""
        if not self.enabled:
            source = self._source(key)
            return [key, source] if source else [key]
        if not self.members(key):
            return []
        return [key] if self.index.kept_source(key) else self.members(key)

    def ranked(self, scores: Scores, depth: int) -> list[tuple[str, float]]:
        """The ``depth`` best hits of a flat channel, best first."""
        out: dict[str, float] = {}
        wanted = depth
        while True:
            found = scores.top(wanted, self.admits, self.gated)
            for point_id, score in found:
                for key in self._expand(point_id):
                    out.setdefault(key, max(score, scores.of(key)))
            if len(out) >= depth or len(found) < wanted:
                break
            out.clear()
            wanted *= 3
        best = sorted(out.items(), key=lambda p: -p[1])
        return best[:depth]

    def _expand(self, point_id: str) -> list[str]:
        """Apart, a source's score goes to each of its admitted facts."""
        if self.enabled or not self.index.kept_source(point_id):
            return [self.key(point_id)]
        return [i for i in self.index.groups.get(point_id, ()) if i != point_id
                and self._accept(self.row(i) or {})]  # fmt: skip

    def collapse(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """A ranking of memories as a ranking of groups (each at its best member's place)."""
        out: dict[str, float] = {}
        for point_id, score in ranked:
            out.setdefault(self.key(point_id), score)
        return list(out.items())

    def scores(self, scores: Scores, keys: Sequence[str]) -> list[float]:
        """What a flat channel scores each of ``keys``: its best point's score (the floor
        for one with none), the channel's scores read in one gather."""
        points = [self.points(key) for key in keys]
        values = scores.of_many([i for found in points for i in found])
        out, at = [], 0
        for found in points:
            out.append(max(values[at : at + len(found)]) if found else scores.floor)
            at += len(found)
        return out
