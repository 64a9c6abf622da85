"""What one ``add`` changed, and what it cost: ``AddResult``, built from a written plan.

``Memory.add``, ``add_many`` and ``add_triples`` answer one; ``add_many`` sums one per
batch. The model's usage is read from the extractor's chat client before and after the
write, so a batch's figures are its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import Fact
from .pipeline import Prepared


@dataclass
class AddResult:
    """What one ``add`` changed, and what it cost. Iterates over the new facts."""

    facts: list[Fact] = field(default_factory=list)
    invalidated: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    relations: list[str] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    # Ids of memories this add said again, word for word: already stored, nothing written.
    # A repeated add answered only an empty ``facts``, which read as a failure.
    unchanged: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter(self.facts)

    def __len__(self) -> int:
        return len(self.facts)

    @classmethod
    def of(cls, prepared: Prepared, usage: dict[str, int]) -> AddResult:
        """The result of writing ``prepared`` (``Pipeline.prepare``)."""
        plan = prepared.plan
        return cls(
            facts=prepared.facts,
            invalidated=sorted(plan.invalidated_fact_ids),
            entities=[e.name for e in plan.batch.entities],
            relations=[
                f"{r.source_name} -[{r.name}]-> {r.target_name}" for r in plan.batch.relations
            ],
            merges=[
                e.details | {"entity_id": e.target_id} for e in plan.events if e.event == "MERGE"
            ],
            usage=usage,
            unchanged=prepared.unchanged,
        )

    def extend(self, part: AddResult) -> None:
        """Add ``part`` (one batch's result) to this one."""
        self.facts += part.facts
        self.invalidated += part.invalidated
        self.entities += part.entities
        self.relations += part.relations
        self.merges += part.merges
        self.unchanged += part.unchanged
        for k, v in part.usage.items():
            self.usage[k] = self.usage.get(k, 0) + v


def usage_of(extractor: Any) -> dict[str, int]:
    """The model calls and tokens the extractor's chat client has counted so far."""
    chat = getattr(extractor, "chat", None)
    if chat is None:
        return {"llm_calls": 0}
    return {
        "llm_calls": getattr(chat, "calls", 0),
        "tokens_in": getattr(chat, "tokens_in", 0),
        "tokens_out": getattr(chat, "tokens_out", 0),
        "cache_hits": getattr(chat, "cache_hits", 0),
    }


def usage_since(extractor: Any, before: dict[str, int]) -> dict[str, int]:
    """What the extractor's chat client counted since ``before`` (``usage_of``)."""
    return {k: v - before.get(k, 0) for k, v in usage_of(extractor).items()}
