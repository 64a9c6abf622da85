"""The bridge walk: from the best text hits, across one fact, to what that fact names.

A multi-hop question names its first hop and describes the rest: "the birthplace of the
director of Film X" names Film X; the passage that answers is about the director, whom
the question never names. Dense retrieval finds the Film X passage and misses the other
one, which shares few words or little meaning with the question. The graph holds the step
between them: a fact of the first passage ("Film X directed by Y") names Y, and Y is what
the second passage is about.

So the walk goes:

1. **hop one**: the ``sources`` best units of the fused text channels (a unit is what a
   search returns: a message or passage with its facts, or a lone memory), each weighted
   by its fused score over the best one's;
2. **the facts that lead on**: in each, the ``facts`` members closest to the query by
   cosine (the question "director of Film X" sits nearest to "Film X directed by Y")
   among those that name something another unit names too (a passage's closest fact may
   name only its own actors); their entities, less those the query names (they are where
   the walk starts, not where it goes) and less hubs, are the bridges;
3. **hop two**: every other unit that mentions a bridge scores
   ``hop-one weight x the fact's cosine x specificity x aboutness``, where specificity is
   1 / the number of other units naming the bridge (a name in two passages links them;
   one in two hundred links nothing), and aboutness is the share of the unit's memories
   that are about it (the passage *about* Y, not every passage that names Y in passing).
   A unit keeps its best bridge, and the best lift scores 1; but where the walk led from
   memories stating no relation, lifts stay under 1 unless they reach ``floor`` of those
   memories' strength: a co-mention is weak evidence, and a word six chat messages share
   is no clean step.

It reads the graph around those few facts, not the scope's graph: a few batched reads
(the relations and mentions of the hop-one members, the facts naming their entities, the
relations and mentions of the memories reached), answered from the in-process graph copy
on Kuzu and by Cypher over Bolt. A write costs it nothing, and a scope of a million
memories no more than one of a thousand: the reads are bounded by ``sources`` x 16
members and by ``hub_degree`` memories per entity.

Measured against HippoRAG-style personalised PageRank (``ppr.py``) on musique-dev with
gpt-3.5's recorded triples, it is cheaper and sharper: PageRank spreads mass over every
entity of the seeds, while the bridge follows only the facts the question points at. The
record is in ``docs/search-recipes.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ..models import PathStep, Relation
from ..stores.graph_ops import GraphOps
from .collapse import Groups


@dataclass(frozen=True)
class BridgeSettings:
    sources: int = 3  # hop-one units the walk starts from
    facts: int = 3  # members per hop-one unit whose entities lead on
    hub_degree: int = 300  # an entity in more memories than this leads nowhere
    floor: float = 0.0  # the best lift scores 1 unless below floor x the best bare lead's


@dataclass
class Bridged:
    """What the walk found: per unit key, its score and the step that reached it."""

    scores: dict[str, float] = field(default_factory=dict)
    via: dict[str, tuple[str, str]] = field(default_factory=dict)  # unit -> (fact id, entity)
    paths: dict[str, list[PathStep]] = field(default_factory=dict)  # unit -> the relation

    def ranked(self) -> list[tuple[str, float]]:
        return sorted(self.scores.items(), key=lambda p: (-p[1], p[0]))


# Members of a hop-one unit, best first, among which the leading facts are the first
# ``facts`` that lead on: a passage's closest fact often names only what no other passage
# names ("Jump for Glory starring Alan Hale"), and the step is its fourth ("directed by").
_CONSIDERED = 16

# How much a memory is about an entity it relates as the object ("Dan lives in Rome" is
# about Dan): a quarter of one it relates as the subject.
OBJECT_SHARE = 0.25


class Around:
    """The graph around a few memories of one search's scope, read in batches.

    ``unit`` and ``size`` come from the search's groups (a message and the facts split
    from it are one unit); every memory outside the scope, filtered out or kept whole as
    a source is no unit, so what another scope's facts name is never reached.
    """

    def __init__(self, ops: GraphOps, groups: Groups, hub_degree: int) -> None:
        self.ops, self.groups, self.hub = ops, groups, hub_degree
        self._units: dict[str, str | None] = {}  # the walk asks for each memory's often

    def unit(self, memory_id: str) -> str | None:
        if memory_id not in self._units:
            key = self.groups.key(memory_id)
            self._units[memory_id] = key if memory_id in self.groups.members(key) else None
        return self._units[memory_id]

    def size(self, unit: str) -> int:
        return len(self.groups.members(unit))

    def relations(self, fact_ids: Sequence[str]) -> dict[str, list[Relation]]:
        return self.ops.relations_of(fact_ids, self.hub)

    def mentions(self, fact_ids: Sequence[str]) -> dict[str, list[str]]:
        return self.ops.mentions_of(sorted(set(fact_ids)))

    def naming(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        """The memories naming each entity that no more than ``hub_degree`` memories name."""
        found = self.ops.naming(sorted(set(entity_ids)), self.hub)
        return {e: ids for e, (count, ids) in found.items() if 0 < count <= self.hub}


def bridge(
    around: Around,
    hop_one: Sequence[tuple[Sequence[str], float]],
    cosine: Callable[[str], float],
    named: Iterable[str],
    settings: BridgeSettings,
) -> Bridged:
    """Units one fact away from the best ``hop_one`` hits, each given as the memory ids it
    stands for and its weight in [0, 1], best first; ``cosine(memory id)`` is a memory's
    cosine to the query, ``named`` the entity ids the query names."""
    skip = set(named)
    starts = []  # per hop-one unit: its members best first, its weight, its units
    for memory_ids, weight in hop_one[: settings.sources]:
        members = [m for m in memory_ids if around.unit(m) is not None]
        if weight <= 0 or not members:
            continue
        cosines = {m: cosine(m) for m in members}
        ordered = [m for m in sorted(members, key=lambda m: -cosines[m]) if cosines[m] > 0]
        starts.append((ordered[:_CONSIDERED], weight, {around.unit(m) for m in members}, cosines))
    every = [f for ordered, *_rest in starts for f in ordered]
    steps = around.relations(every)
    leads = _leads(steps, around.mentions([f for f in every if not steps.get(f)]))
    naming = around.naming(e for f in every for e in leads.get(f, ()) if e not in skip)

    def onward(fact: str, own: set[str]) -> bool:
        """Whether a fact names an entity that some other unit names too."""
        return any(around.unit(m) not in own and around.unit(m) is not None
                   for e in leads.get(fact, ()) if e not in skip
                   for m in naming.get(e, ()))  # fmt: skip

    leading: list[tuple[str, float, set[str]]] = []  # (fact, strength, its hit's units)
    for ordered, weight, own, cosines in starts:
        taken = [f for f in ordered if onward(f, own)][: settings.facts]
        leading += [(f, weight * cosines[f], own) for f in taken]
    if not leading:
        return Bridged()
    naming = {e: naming[e] for f, _s, _o in leading for e in leads.get(f, ()) if e in naming}
    reached = {m for ids in naming.values() for m in ids if around.unit(m) is not None}
    about = _Aboutness(around, reached)
    raw: dict[str, tuple[float, str, str]] = {}  # unit -> (lift, fact, entity)
    for fact, strength, own in leading:
        for entity in leads.get(fact, ()):
            units: dict[str, float] = {}
            for m in naming.get(entity, ()) if entity not in skip else ():
                if (unit := around.unit(m)) is not None:
                    units[unit] = units.get(unit, 0.0) + about.of(m, entity)
            if len(units) < 2:  # named by one unit alone: leads nowhere
                continue
            for unit, held in units.items():
                lift = strength * held / max(1, around.size(unit)) / (len(units) - 1)
                if unit not in own and lift > raw.get(unit, (0.0,))[0]:
                    raw[unit] = (lift, fact, entity)
    out = Bridged()
    # The best lift scores 1, unless the walk led from memories stating no relation and
    # found nothing better than ``floor`` of their strength: a co-mention is weak evidence,
    # and scaled to 1 a word six chat messages share ("Sundays") lifted all six as if it
    # were a clean step (long replies stored verbatim: recall@10 0.747 vs 0.781 for text).
    # A stated relation is a step the extractor saw, scaled to the best whatever it is.
    bare = [strength for f, strength, _o in leading if not steps.get(f)]
    best = max(
        max(bare, default=0.0) * settings.floor,
        max((lift for lift, _f, _e in raw.values()), default=0.0),
    )
    for unit, (lift, fact, entity) in raw.items():
        out.scores[unit] = lift / best
        out.via[unit] = (fact, entity)
        touching = [r for r in steps.get(fact, ()) if entity in (r.source_id, r.target_id)]
        out.paths[unit] = [_step(r) for r in touching[:1]]
    return out


class _Aboutness:
    """How much each reached memory is about an entity it names: 1 when it is the subject
    of its relations, ``OBJECT_SHARE`` when only their object; a memory stating no
    relation is about each entity it mentions in equal parts. A 250-word reply that names
    twelve people is about none of them: counted whole, such replies took the bridge
    wherever they quoted a name (``docs/search-recipes.md``)."""

    def __init__(self, around: Around, memory_ids: set[str]) -> None:
        self.relations = around.relations(sorted(memory_ids))
        bare = [m for m in memory_ids if not self.relations.get(m)]
        self.named = {m: len(set(e)) for m, e in around.mentions(bare).items()}

    def of(self, memory_id: str, entity_id: str) -> float:
        rels = self.relations.get(memory_id)
        if not rels:
            return 1.0 / max(1, self.named.get(memory_id, 1))
        return 1.0 if any(r.source_id == entity_id for r in rels) else OBJECT_SHARE


def _leads(steps: dict[str, list[Relation]], mentions: dict[str, list[str]]
           ) -> dict[str, list[str]]:  # fmt: skip
    """The entities each leading fact leads to: the ends of the relations it supports
    ("Film X directed by Y": Film X and Y), or, for a memory that states no relation,
    every entity it mentions. A mention the extractor linked besides (a topic word of the
    passage) is no step the fact takes."""
    out = {f: list(dict.fromkeys(e for r in rels for e in (r.source_id, r.target_id)))
           for f, rels in steps.items() if rels}  # fmt: skip
    for fact, entities in mentions.items():
        out.setdefault(fact, list(dict.fromkeys(entities)))
    return out


def _step(rel: Relation) -> PathStep:
    return PathStep(rel.source_name, rel.name, rel.target_name)
