"""One search's fused entries as ``Hit`` objects: the text shown, the parts, the path.

A fused entry stands for a group of memories (``collapse.py``): one memory, or the facts
of one source message the search admitted. ``hit`` shows the whole message only when
every fact of it is admitted and unchanged since the split, names the memories it stands
for, and carries each channel's share and raw score, the graph's or the bridge's way to
it, and who said it. A mixin of ``engine._Run``, reading the state the search kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..index import is_source
from ..models import Hit, PathStep
from ..text import parts_key
from .fuse import Fused
from .recipes import CHANNELS

# A channel's raw score under the name a hit's parts give it.
RAW_NAMES = {
    "vector": "cosine",
    "keyword": "bm25",
    "graph": "path",
    "bridge": "bridge",
    "pagerank": "ppr",
}


class Results:
    """Hits from fused entries, and the payloads and vectors the later steps read."""

    def payload(self, fact_id: str) -> dict[str, Any] | None:
        return self.index.payload(fact_id)

    def member_payloads(self, key: str) -> list[dict[str, Any]]:
        """The payloads (or gates: ``boost.py`` reads their fields only) of the memories one
        fused entry stands for."""
        return [p for i in self.groups.members(key) or [key] if (p := self.groups.row(i))]

    def vectors_of(self, ids: list[str]) -> dict[str, np.ndarray]:
        out = {i: v for i in ids if (v := self.index.vector(i)) is not None}
        missing = [i for i in ids if i not in out and self.payload(i) is not None]
        if missing:  # no vectors kept in memory: embed the texts once
            texts = [str(self.payload(i).get("text", "")) for i in missing]
            for i, v in zip(missing, self.owner.embedder.embed(texts), strict=True):
                out[i] = np.asarray(v, np.float32) / (np.linalg.norm(v) or 1.0)
        return out

    def hit(self, fused: Fused) -> Hit:
        key = fused.memory_id
        members = self.groups.members(key) or [key]
        first = self.payload(members[0]) or {}
        source = self.payload(key) if self.groups.enabled else None
        if is_source(source):
            every = [i for i in self.index.groups.get(key, ()) if i != key]
            # The whole message only when all of it is admitted: a superseded fact of it
            # must not come back inside its message's text. Nor a fact deleted or reworded
            # since: its facts must still say what they said when it was split
            # (``parts``; a source stored before it was kept is only counted).
            whole = len(members) == len(every)
            if whole and source.get("parts"):
                whole = source["parts"] == parts_key(self._text(i) for i in members)
            said = str(source.get("text", ""))
            ordered = sorted(members, key=lambda i: said.find(self._text(i)))
            text = said if whole else " ".join(self._text(i) for i in ordered)
        else:
            source, text = first, str(first.get("text", ""))
        parts = {name: round(value, 6) for name, value in fused.parts.items()}
        for name, value in fused.raw.items():
            parts[RAW_NAMES.get(name, name)] = round(value, 6)
        if self.standing is not None:
            parts["standout"] = round(self.standing, 3)
        if self.whole is not None and "vector" in fused.raw:
            whole = self.whole.of(key)  # a long message found by a part: its own cosine too
            if whole < fused.raw["vector"] - 1e-9:
                parts["cosine_whole"] = round(whole, 6)
        paths = [self.graph.facts[i][1] for i in members if i in self.graph.facts]
        if self.ppr is not None:
            graph, mass, seeds = self.ppr
            paths = [graph.path_to(i, mass, seeds) for i in members if i in self.graph.facts]
        path: list[PathStep] = []  # the walk's way here, else the bridge's step
        if paths and "graph" in fused.raw:
            path = list(paths[0])
        elif "bridge" in fused.raw:
            path = list(self.bridged.get(key, []))
        return Hit(
            memory_id=members[0],
            text=str(text),
            score=round(fused.score, 6),
            channels=[c for c in CHANNELS if key in self.found.get(c, ())],
            score_parts=parts,
            source_ids=list(source.get("source_ids") or []),
            path=path,
            valid_at=str(first.get("valid_at") or ""),
            invalid_at=str(first.get("invalid_at") or ""),
            metadata=dict(first.get("metadata") or {}),
            memory_ids=list(members),
            role=self._role(members, first),
        )

    def role_of(self, key: str) -> str:
        """The role of the words a fused entry stands for (``roles.assistant_part``)."""
        members = self.groups.members(key) or [key]
        return self._role(members, self.payload(members[0]) or {})

    def _role(self, members: list[str], first: dict[str, Any]) -> str:
        """Who said what the hit shows: its memories' one role, "" when they mix roles."""
        rows = [first, *(self.payload(i) or {} for i in members[1:])]
        roles = {str(row.get("role") or "user") for row in rows}
        return roles.pop() if len(roles) == 1 else ""

    def _text(self, memory_id: str) -> str:
        return str((self.payload(memory_id) or {}).get("text", ""))
