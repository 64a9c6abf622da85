"""What an updated memory's new words claim.

``Memory.update`` used to change the text only: what the old words claimed was withdrawn,
but "Alice works at Acme." reworded to "Alice works at Globex." left no Globex and no
works_at relation, so the graph and search never learnt the new statement. The new text
is now read as ``add`` reads a message (the same extractor, the same speaker and time),
and its entities, relations and mentions are planned against the graph as it will be once
the old claims are gone. ``Writer.update_fact`` writes both in one journaled change.

Two steps, because they run at different times: ``read_claims`` may call a model, so
``update`` runs it before taking the write lock; ``plan_claims`` reads the graph, so it
runs under the lock, next to ``plan_removal``.
"""

from __future__ import annotations

from ..models import ExtractedFact, Extraction, Fact
from ..stores.base import Extractor
from ..stores.graph_ops import Removal
from .offline_mentions import KnownIndex
from .pipeline import Pipeline, Unit, wanted_entities
from .resolve import Plan
from .turns import USER
from .validate import Message


def read_claims(
    pipeline: Pipeline, fact: Fact, text: str, extractor: Extractor, infer: bool
) -> Extraction:
    """The entities and relations ``text`` states, read as ``fact``'s speaker said it at
    ``fact``'s time. Facts the extractor splits the text into are not kept: the memory
    stays one memory, and every relation cites it."""
    speaker = str((fact.metadata or {}).get("speaker") or "")
    unit = Unit([Message(fact.role or USER, text, speaker)], timestamp=fact.valid_at)
    known = KnownIndex(pipeline.known_entities(fact.scope))
    found = pipeline.extract(unit, fact.scope, extractor, infer, known, fact.created_at)
    for rel in found.relations:
        rel.fact = 0
    return Extraction([ExtractedFact(text, fact.valid_at)], found.entities, found.relations)


def plan_claims(
    pipeline: Pipeline, fact: Fact, found: Extraction, withdrawn: Removal, now: str
) -> Plan:
    """The graph changes that make ``fact`` (already holding its new text) claim what
    ``found`` says, with ``withdrawn`` read as done: a relation only the old words
    supported is not restated but made again, and one the new words share gets the fact
    back. ``fact.invalid_at`` is set anew from the new claims: the old ones, which may
    have been superseded, are no longer its words."""
    plan = Plan(fact.scope)
    wanted = wanted_entities(found)
    entities = pipeline.resolver.resolve_entities(wanted, fact.scope, now, plan) if wanted else {}
    pipeline.resolver.resolve_relations(found, [fact.id], [fact.valid_at], entities, fact.scope,
                                        now, plan, withdrawn)  # fmt: skip
    spans = [(item, 0, 1) for item in found.entities]
    pipeline.link_mentions(plan, found, spans, [fact.id], entities)
    plan.batch.mentions = sorted(set(plan.batch.mentions))
    for event in plan.events:  # what an undo of the merge must move back, as add records
        if event.event == "MERGE":
            event.details["fact_ids"] = [fact.id]
    fact.invalid_at = plan.invalidated_fact_ids.pop(fact.id, "")
    return plan
