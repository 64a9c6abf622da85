"""Personalised PageRank over a scope's entity-fact graph, held as arrays.

The graph: one node per memory (fact), per entity and per source (a passage, a message)
that two or more memories came from. A memory is joined to every entity it mentions and
to both ends of every relation it supports, and to its source. Relations are not edges of
their own: a relation *is* its supporting memory, so "A works at B" joins A and B through
the memory that says so, and its score is that memory's score.

A search seeds the walk (``personalise``) with the entities the query names, the
entities of the memories whose embedding is closest to the query's (HippoRAG 2's
query-to-triple step: the fact "Journal X published by Y" names the bridge Y that the
question only describes) and the hits the text channels ranked best, and ``propagate``
spreads it: each step sends a node's mass to its neighbours in proportion to edge weights
and returns ``restart`` of it to the seeds. ``unit_scores`` then ranks what search returns,
a message split into facts (a passage) by the mass of its node and all its facts. What makes it cheap and keeps it sharp on dense graphs:

- the graph is built once per scope and kept until a write changes the scope (its
  ``ScopeIndex`` counts writes), as CSR arrays: a step is a few numpy gathers, no Python
  object per relation and no database round trip;
- a step expands only the heaviest nodes, until ``edge_budget`` edges are touched, so a
  query never touches tens of thousands of relations, whatever the scope's size;
- a hub (an entity of more than ``hub_degree`` memories: a conversation's speaker, "United
  States") passes nothing on: being one of 900 memories naming a country says nothing
  about any of them. Seed entities are weighted by specificity, an IDF of how many
  memories mention them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..index import is_source
from ..index.keyword import tokenise
from ..models import PathStep, Relation, Scope
from ..stores.graph_ops import GraphOps


@dataclass(frozen=True)
class WalkSettings:
    restart: float = 0.5  # share of mass sent back to the seeds each step
    steps: int = 4  # memory -> entity -> memory -> entity -> memory
    hub_degree: int = 300  # nodes with more edges pass nothing on
    edge_budget: int = 20_000  # edges touched per step, at most
    source_weight: float = 1.0  # memory-source edge weight (memory-entity edges weigh 1)
    relation_gate: float = 1.0  # mass kept on reaching a memory whose relations share no
    # word with the query (1.0: relations do not matter)


class EntityFactGraph:
    """CSR adjacency of one scope's memories, entities and shared sources."""

    def __init__(
        self,
        fact_ids: Sequence[str],
        fact_sources: Sequence[Sequence[str]],
        links: Iterable[tuple[str, str]],
        source_weight: float = 1.0,
        relations: Sequence[Relation] = (),
    ) -> None:
        self.fact_ids = list(fact_ids)
        self.fact_node = {f: i for i, f in enumerate(self.fact_ids)}
        self.entity_node: dict[str, int] = {}
        pairs: set[tuple[int, int]] = set()
        for fact_id, entity_id in links:
            fact = self.fact_node.get(fact_id)
            if fact is None:
                continue
            node = self.entity_node.setdefault(entity_id, len(self.entity_node))
            pairs.add((fact, node))
        self.facts = len(self.fact_ids)
        self.entities = len(self.entity_node)
        self.entity_ids = list(self.entity_node)
        # Sources shared by two or more memories: a passage split into facts holds together.
        members: dict[str, list[int]] = {}
        for fact, sources in enumerate(fact_sources):
            for source in sources or ():
                members.setdefault(str(source), []).append(fact)
        shared = [(key, m) for key, m in members.items() if len(m) > 1]
        # A shared source is a hit of its own when search groups by it (``build_graph``).
        self.source_keys = [key for key, _m in shared]
        # The hit unit of each memory: its shared source (the first), else itself.
        self.unit_of = np.full(self.facts, -1, dtype=np.int64)
        for k, (_key, facts) in reversed(list(enumerate(shared))):
            self.unit_of[facts] = k
        alone = np.flatnonzero(self.unit_of < 0)
        self.unit_of[alone] = len(shared) + np.arange(len(alone))
        self.unit_keys = self.source_keys + [self.fact_ids[i] for i in alone]
        self.size = self.facts + self.entities + len(shared)
        first = self.facts + self.entities
        self.source_node = {key: first + k for k, key in enumerate(self.source_keys)}
        rows, cols, weights = [], [], []
        for fact, node in pairs:
            rows.append(fact)
            cols.append(self.facts + node)
            weights.append(1.0)
        for k, (_key, facts) in enumerate(shared):
            for fact in facts:
                rows.append(fact)
                cols.append(self.facts + self.entities + k)
                weights.append(source_weight)
        r = np.asarray(rows + cols, dtype=np.int64)  # both directions
        c = np.asarray(cols + rows, dtype=np.int64)
        w = np.asarray(weights + weights, dtype=np.float64)
        order = np.argsort(r, kind="stable")
        self.indices = c[order]
        self.weights = w[order]
        counts = np.bincount(r, minlength=self.size)
        self.indptr = np.concatenate([[0], np.cumsum(counts)])
        self.degree = counts
        strength = np.bincount(r, weights=w, minlength=self.size)
        # Transition probabilities: each edge's share of its node's total weight.
        self.share = self.weights / np.repeat(np.where(strength > 0, strength, 1.0), counts)
        # How many memories mention each entity, for seed specificity.
        self.entity_facts = counts[self.facts : self.facts + self.entities]
        # The relations each memory supports, for explaining a hit (``path_to``).
        self.steps: dict[int, list[tuple[PathStep, int, int]]] = {}
        self.by_word: dict[str, list[int]] = {}  # relation-name word -> supporting memories
        for rel in relations:
            ends = (self.entity_node.get(rel.source_id), self.entity_node.get(rel.target_id))
            if None in ends:
                continue
            step = (PathStep(rel.source_name, rel.name, rel.target_name),
                    self.facts + ends[0], self.facts + ends[1])  # fmt: skip
            words = set(tokenise(rel.name.replace("_", " ")))
            for fact_id in rel.fact_ids:
                if (fact := self.fact_node.get(fact_id)) is not None:
                    self.steps.setdefault(fact, []).append(step)
                    for word in words:
                        self.by_word.setdefault(word, []).append(fact)
        self.has_relation = np.zeros(self.facts, dtype=bool)
        self.has_relation[list(self.steps)] = True

    def specificity(self, entity_id: str) -> float:
        """IDF of an entity over the scope's memories, in (0, 1]; 0 for an unknown one."""
        node = self.entity_node.get(entity_id)
        if node is None or self.facts == 0:
            return 0.0
        mentions = max(1, int(self.entity_facts[node]))
        return math.log(1.0 + self.facts / mentions) / math.log(1.0 + self.facts)

    def personalise(
        self, entities: Mapping[str, float], facts: Mapping[str, float]
    ) -> dict[int, float]:
        seeds: dict[int, float] = {}
        for entity_id, weight in entities.items():
            node = self.entity_node.get(entity_id)
            if node is not None and weight > 0:
                seeds[self.facts + node] = weight * self.specificity(entity_id)
        for fact_id, weight in facts.items():
            node = self.fact_node.get(fact_id, self.source_node.get(fact_id))
            if node is not None and weight > 0:
                seeds[node] = seeds.get(node, 0.0) + weight
        return {n: w for n, w in seeds.items() if w > 0}

    def gate(self, query: str, floor: float) -> np.ndarray | None:
        """Per memory: 1.0, or ``floor`` when it supports relations and none of their
        names shares a (stemmed) word with ``query``: "born" keeps "was born in"."""
        if floor >= 1.0 or not self.facts:
            return None
        out = np.where(self.has_relation, floor, 1.0)
        for word in set(tokenise(query)):
            found = self.by_word.get(word)
            if found:
                out[found] = 1.0
        return out

    def propagate(
        self, seeds: Mapping[int, float], settings: WalkSettings, gate: np.ndarray | None = None
    ) -> np.ndarray:
        """Mass per node after ``settings.steps`` steps of the walk restarting at ``seeds``."""
        total = sum(seeds.values())
        start = np.zeros(self.size)
        if total <= 0 or not self.size:
            return start
        for node, weight in seeds.items():
            start[node] = weight / total
        mass = start.copy()
        for _ in range(settings.steps):
            spread = self._step(mass, settings)
            if gate is not None:
                spread[: self.facts] *= gate
            mass = settings.restart * start + (1.0 - settings.restart) * spread
        return mass

    @staticmethod
    def walked(mass: np.ndarray, seeds: Mapping[int, float], restart: float) -> np.ndarray:
        """``mass`` less what the restart puts back on each seed every step: what the walk
        carried there through the graph. A seed's own share only repeats the ranking
        that seeded it (the text channels, already fused beside the graph's)."""
        out = mass.copy()
        total = sum(seeds.values())
        if total > 0:
            for node, weight in seeds.items():
                out[node] -= restart * weight / total
        return np.maximum(out, 0.0)

    def _step(self, mass: np.ndarray, settings: WalkSettings) -> np.ndarray:
        live = np.flatnonzero(mass > 0)
        live = live[self.degree[live] <= settings.hub_degree]  # hubs pass nothing on
        live = live[np.argsort(-mass[live], kind="stable")]
        used = np.cumsum(self.degree[live])
        live = live[: max(1, int(np.searchsorted(used, settings.edge_budget, side="right")))]
        out = np.zeros(self.size)
        if not len(live):
            return out
        starts, counts = self.indptr[live], self.degree[live]
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        positions = np.repeat(starts, counts) + offsets
        np.add.at(
            out, self.indices[positions], np.repeat(mass[live], counts) * self.share[positions]
        )
        return out

    def path_to(self, fact_id: str, mass: np.ndarray, seeds: set[int]) -> list[PathStep]:
        """The likeliest way the walk reached a memory, as at most two relation steps.

        The memory's own relation (the one whose ends hold the most mass), preceded, when
        the end the mass came through is not a seed, by the relation of the heaviest other
        memory at that end: "Alice -[brother]-> Bob ; Bob -[lives_in]-> Paris".
        """
        node = self.fact_node.get(fact_id)
        if node is None or node not in self.steps:
            return []
        step, a, b = max(self.steps[node], key=lambda s: mass[s[1]] + mass[s[2]])
        via = a if mass[a] >= mass[b] else b
        if via in seeds:
            return [step]
        lo, hi = self.indptr[via], self.indptr[via + 1]
        best, before = -1.0, None
        for other in self.indices[lo:hi]:
            if other == node or other >= self.facts or mass[other] <= best:
                continue
            touching = [s for s in self.steps.get(int(other), []) if via in (s[1], s[2])]
            if touching:
                best, before = float(mass[other]), touching[0][0]
        return [before, step] if before is not None else [step]

    def entities_of(self, fact_id: str) -> list[str]:
        """The entities a memory mentions or relates (its entity neighbours)."""
        node = self.fact_node.get(fact_id)
        if node is None:
            return []
        ends = self.indices[self.indptr[node] : self.indptr[node + 1]]
        ends = ends[(ends >= self.facts) & (ends < self.facts + self.entities)] - self.facts
        return [self.entity_ids[int(e)] for e in ends]

    def unit_scores(self, mass: np.ndarray, limit: int) -> list[tuple[str, float]]:
        """Scores per hit unit, best first, the best scaled to 1: a shared source (a
        passage split into facts) holds the mass of its node and of all its facts, a
        memory no shared source holds its own.

        Giving a passage its best fact's score let it win on one fact the walk happened
        to reach; the sum weighs all the evidence the walk found in it (as a passage
        node next to its entities does in HippoRAG). Its node alone sits one step further
        from the entities than a lone memory, so it would lose to one by the restart.
        """
        first = self.facts + self.entities
        values = np.bincount(self.unit_of, weights=mass[: self.facts],
                             minlength=len(self.unit_keys))  # fmt: skip
        values[: len(self.source_keys)] += mass[first:]
        return _best(values, self.unit_keys, limit)

    def fact_scores(self, mass: np.ndarray, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` memories holding the most mass, best first, scaled so the best is 1."""
        return _best(mass[: self.facts], self.fact_ids, limit)


def _best(values: np.ndarray, keys: Sequence[str], limit: int) -> list[tuple[str, float]]:
    """The ``limit`` positive ``values`` as ``(key, value / the best)``, best first."""
    found = np.flatnonzero(values > 0)
    if not len(found):
        return []
    if len(found) > limit:
        found = found[np.argpartition(-values[found], limit - 1)[:limit]]
    found = found[np.argsort(-values[found], kind="stable")]
    top = float(values[found[0]])
    return [(keys[int(i)], float(values[i]) / top) for i in found]


def build_graph(
    fact_ids: Sequence[str],
    payloads: Sequence[Mapping[str, Any]],
    ops: GraphOps,
    scope: Scope,
    source_weight: float = 1.0,
) -> EntityFactGraph:
    """Read the scope's mentions and relations once and lay them out as arrays.

    The facts split from one message hold together through a node of their message (its
    ``origin``, the key search groups hits by); the message kept whole for search is no
    node of its own: the flat channels score it, and seed its node.
    """
    relations, mentions = ops.edges_in_scope(scope)
    links = list(mentions)
    for rel in relations:
        for fact_id in rel.fact_ids:
            links += [(fact_id, rel.source_id), (fact_id, rel.target_id)]
    kept = [(f, p) for f, p in zip(fact_ids, payloads, strict=True) if not is_source(p)]
    sources = [[str(p["origin"])] if p.get("origin") else [] for _f, p in kept]
    return EntityFactGraph([f for f, _p in kept], sources, links, source_weight, relations)
