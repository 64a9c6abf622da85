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
2. **the fact that leads on**: in each, the ``facts`` members closest to the query by
   cosine (the question "director of Film X" sits nearest to "Film X directed by Y"); their
   entities, less those the query names (they are where the walk starts, not where it
   goes) and less hubs, are the bridges;
3. **hop two**: every other unit that mentions a bridge scores
   ``hop-one weight x the fact's cosine x specificity x aboutness``, where specificity is
   1 / the number of units naming the bridge (a name in two passages links them; one in
   two hundred links nothing), and aboutness is the share of the unit's memories that
   mention it (the passage *about* Y, not every passage that names Y in passing). A unit
   keeps its best bridge, and the scores are scaled so the best is 1.

Measured against HippoRAG-style personalised PageRank (``ppr.py``) on musique-dev with
gpt-3.5's recorded triples, it is cheaper (a few hundred array reads, no iteration) and
sharper: PageRank spreads mass over every entity of the seeds, while the bridge follows
only the facts the question points at. The record is in ``recipes.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..models import PathStep
from .ppr import EntityFactGraph


@dataclass(frozen=True)
class BridgeSettings:
    sources: int = 3  # hop-one units the walk starts from
    facts: int = 3  # members per hop-one unit whose entities lead on
    hub_degree: int = 300  # an entity in more memories than this leads nowhere


@dataclass
class Bridged:
    """What the walk found: per unit key, its score and how it was reached."""

    scores: dict[str, float] = field(default_factory=dict)
    via: dict[str, tuple[str, str]] = field(default_factory=dict)  # unit -> (fact id, entity)

    def ranked(self) -> list[tuple[str, float]]:
        return sorted(self.scores.items(), key=lambda p: (-p[1], p[0]))


# How much a memory is about an entity it relates as the object ("Dan lives in Rome" is
# about Dan): a quarter of one it relates as the subject.
OBJECT_SHARE = 0.25


def aboutness(graph: EntityFactGraph, facts: np.ndarray, node: int) -> np.ndarray:
    """Per memory naming entity ``node``: 1 when it is the subject of the memory's
    relations, ``OBJECT_SHARE`` when only their object; a memory stating no relation is
    about each of the entities it mentions in equal parts. A 250-word reply that names
    twelve people is about none of them: counted whole, such replies took the bridge
    wherever they quoted a name (``recipes.py``)."""
    out = []
    for f in facts.tolist():
        if not graph.has_relation[f]:
            out.append(1.0 / max(1, int(graph.named[f])))
        else:
            out.append(1.0 if (f, node) in graph.subjects else OBJECT_SHARE)
    return np.asarray(out)


def bridge(
    graph: EntityFactGraph,
    hop_one: Sequence[tuple[Sequence[str], float]],
    cosine: Callable[[str], float],
    named: Iterable[str],
    settings: BridgeSettings,
) -> Bridged:
    """Units one fact away from the best ``hop_one`` hits, each given as the memory ids it
    stands for and its weight in [0, 1], best first; ``cosine(memory id)`` is a memory's
    cosine to the query, ``named`` the entity ids the query names."""
    out = Bridged()
    if not graph.facts or not hop_one:
        return out
    skip = {graph.entity_node[e] for e in named if e in graph.entity_node}
    first = graph.facts
    raw: dict[int, float] = {}
    via: dict[int, tuple[int, int]] = {}
    for memory_ids, weight in hop_one[: settings.sources]:
        members = [graph.fact_node[m] for m in memory_ids if m in graph.fact_node]
        if weight <= 0 or not members:
            continue
        own = set(graph.unit_of[members].tolist())
        cosines = {f: cosine(graph.fact_ids[f]) for f in members}
        closest = sorted(members, key=lambda f: -cosines[f])
        for fact in closest[: settings.facts]:
            strength = weight * max(0.0, cosines[fact])
            if strength <= 0:
                continue
            for node in _leads(graph, fact):
                entity = node - first
                if entity in skip or graph.degree[node] > settings.hub_degree:
                    continue
                facts = graph.indices[graph.indptr[node] : graph.indptr[node + 1]]
                facts = facts[facts < first]
                units, where = np.unique(graph.unit_of[facts], return_inverse=True)
                if len(units) < 2:  # named by this unit alone: leads nowhere
                    continue
                held = np.bincount(where, weights=aboutness(graph, facts, node))
                about = held / graph.unit_size[units]
                lift = strength * about / (len(units) - 1)
                for other, value in zip(units.tolist(), lift.tolist(), strict=True):
                    if other not in own and value > raw.get(other, 0.0):
                        raw[other], via[other] = value, (fact, entity)
    best = max(raw.values(), default=0.0)
    for unit, value in raw.items():
        key = graph.unit_keys[unit]
        out.scores[key] = value / best
        fact, entity = via[unit]
        out.via[key] = (graph.fact_ids[fact], graph.entity_ids[entity])
    return out


def _leads(graph: EntityFactGraph, fact: int) -> list[int]:
    """The entity nodes a fact leads to: the ends of the relations it supports ("Film X
    directed by Y": Film X and Y), or, for a memory that states no relation, every entity
    it mentions. A mention the extractor linked besides (a topic word of the passage) is
    no step the fact takes."""
    steps = graph.steps.get(fact)
    if steps:
        return list(dict.fromkeys(end for _step, a, b in steps for end in (a, b)))
    ends = graph.indices[graph.indptr[fact] : graph.indptr[fact + 1]]
    return [int(n) for n in ends[(ends >= graph.facts) & (ends < graph.facts + graph.entities)]]


def path_of(graph: EntityFactGraph, fact_id: str, entity_id: str) -> list[PathStep]:
    """The relation of the leading fact that ends at the bridge, to explain a hit."""
    node = graph.fact_node.get(fact_id)
    target = graph.facts + graph.entity_node.get(entity_id, -1)
    steps = graph.steps.get(node, []) if node is not None else []
    touching = [step for step, a, b in steps if target in (a, b)]
    return touching[:1] or [step for step, _a, _b in steps[:1]]
