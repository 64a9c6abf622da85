"""The channels a search retrieves from, besides BM25: dense, the graph walk (paths or
personalised PageRank) and the bridge.

Each channel gives ``(memory or group key, score)`` best first, admitted by the search's
one rule (``index/filters.py``) and collapsed into groups (``collapse.py``), for
``fuse.py`` to merge. They are methods of the search's run (``engine._Run``), kept here
so that ``engine.py`` reads as the search's order of work: retrieve, fuse, rerank, explain.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from ..index import ENTITIES, FACTS, Scores, is_source
from ..models import Entity, Scope
from .bridge import Around, BridgeSettings, bridge
from .fuse import Fused
from .graph import CONCEPTS, GraphResult, Relevance, link, walk
from .ppr import EntityFactGraph, WalkSettings


class Channels:
    """Retrieval by channel, for ``engine._Run``: it holds the search's text, vector,
    scope, recipe, index, groups, admission rule and the scores found so far."""

    def vector_channel(self, depth: int) -> list[tuple[str, float]]:
        if self.index.has_vectors and len(self.index):
            scores = self.index.vector_scores(self.vector, exact=True)
            if self.recipe.long_parts and self.groups.enabled:
                self.whole = scores
                scores = scores.lifted(*self.index.part_slots(), self.recipe.long_parts)
            self.scores["vector"] = scores
            return self.groups.ranked(scores, depth)
        # No vectors in memory: ask the store, over-fetching for what the filter drops.
        current = not self.as_of and not self.include_invalid
        store_filter = {"invalid_at": ""} if current else None
        found = self.owner.vectors.search(
            FACTS, self.vector.tolist(), self.scope, limit=4 * depth, filters=store_filter
        )
        return self.groups.collapse([(h.id, h.score) for h in found if self.accept(h.payload)])[
            :depth
        ]

    def cosines(self) -> Scores:
        """The vector channel's scores where it ran, else the query's cosines read as it
        reads them (exactly, ``index/scores.py``)."""
        found = self.scores.get("vector")
        return found if found is not None else self.index.vector_scores(self.vector, exact=True)

    def ppr_channel(self, first: list[Fused], depth: int) -> list[tuple[str, float]]:
        """Personalised PageRank (ppr.py) seeded by the entities the query names, the
        entities of the memories most like the query and the best text hits."""
        recipe = self.recipe
        graph = self.owner.graph_of(self.scope, self.index)
        linked = self.linked()
        self.seeds = {entity_id: score for entity_id, (_e, score, _how) in linked.items()}
        names = {entity_id: entity.name for entity_id, (entity, _s, _how) in linked.items()}
        entities = dict(self.seeds)
        for entity_id, weight in self.matched_entities(graph).items():
            entities[entity_id] = max(entities.get(entity_id, 0.0), weight)
        top = (first[0].score if first else 0.0) or 1.0
        hits = {f.memory_id: recipe.fact_seed_weight * f.score / top
                for f in first[: recipe.fact_seeds]}  # fmt: skip
        seeds = graph.personalise(entities, hits)
        if not seeds:
            return []
        settings = WalkSettings(recipe.ppr_restart, recipe.ppr_steps, recipe.hub_degree,
                                recipe.edge_budget)  # fmt: skip
        mass = graph.propagate(seeds, settings, graph.gate(self.text, recipe.relation_gate))
        scored = graph.walked(mass, seeds, recipe.ppr_restart) if recipe.ppr_walked else mass
        out, facts = [], {}
        if self.groups.enabled:
            for key, score in graph.unit_scores(scored, 4 * depth):
                members = self.groups.members(self.groups.key(key))
                if members:
                    out.append((self.groups.key(key), score))
                    facts.update({m: (score, []) for m in members})
        else:
            for fact_id, score in graph.fact_scores(scored, 4 * depth):
                payload = self.groups.row(fact_id)
                if payload is not None and self.accept(payload):
                    out.append((fact_id, score))
                    facts[fact_id] = (score, [])
        out = out[:depth]
        self.graph = GraphResult(facts=facts, names=names)
        self.ppr = (graph, mass, set(seeds))
        return out

    def matched_entities(self, graph: EntityFactGraph) -> dict[str, float]:
        """The entities of the ``match_seeds`` memories whose embedding is closest to the
        query's, each weighted by its best memory's cosine over the best one's.

        A multi-hop question rarely names its bridge: "the association which published
        Journal X" names the journal, and the fact "Journal X published by Y" is what
        names Y (HippoRAG 2's query-to-triple step).
        """
        recipe = self.recipe
        if recipe.match_seeds <= 0 or recipe.match_seed_weight <= 0:
            return {}
        scores = self.cosines()

        def fact(payload: Mapping[str, Any]) -> bool:
            return (not is_source(payload) and str(payload.get("id", "")) in graph.fact_node
                    and self.accept(payload))  # fmt: skip

        found = scores.top(recipe.match_seeds, fact, self.groups.gated)
        out: dict[str, float] = {}
        # Min-max from the scope's floor, as the vector channel is fused: five weak
        # matches out of many are not all as good as the best one.
        best = max((score for _f, score in found), default=0.0)
        span = best - scores.floor
        for fact_id, score in found:
            weight = recipe.match_seed_weight * (max(0.0, score - scores.floor) / span
                                                 if span > 1e-12 else 1.0)  # fmt: skip
            for entity_id in graph.entities_of(fact_id):
                out[entity_id] = max(out.get(entity_id, 0.0), weight)
        return out

    def bridge_channel(self, first: list[Fused], depth: int) -> list[tuple[str, float]]:
        """Units one fact away from the best text hits (``bridge.py``), each with the
        relation that led to it as its path. It reads the graph around those hits only,
        so it costs the same right after a write and at any scope size."""
        recipe = self.recipe
        cosines = self.cosines()
        settings = BridgeSettings(recipe.bridge_sources, recipe.bridge_facts, recipe.hub_degree,
                                  recipe.bridge_floor)  # fmt: skip
        top = (first[0].score if first else 0.0) or 1.0
        hop_one = [(self.groups.members(f.memory_id), f.score / top) for f in first]
        around = Around(self.owner.ops, self.groups, recipe.hub_degree)
        # Nor does it lead through the scope's user: the "I" of everything the user said
        # links each of their statements to all the others ("I love dance" to "I love
        # jazz records"), which is no step from one fact to another.
        named = self.linked()
        found = bridge(around, hop_one, cosines.of, {*named, *self.user_ids}, settings)
        out: list[tuple[str, float]] = []
        for key, score in found.ranked():
            group = self.groups.key(key)
            if not self.groups.members(group) or group in self.bridged:
                continue
            self.bridged[group] = found.paths[key]
            out.append((group, score))
            if len(out) >= depth:
                break
        return out

    def linked(self) -> dict[str, tuple[Entity, float, str]]:
        """The entities the query names (``graph.link``), looked up once per search."""
        if self._linked is None:
            self._linked = link(self.text, self.scope, self.owner.ops, self.recipe,
                                self.similar_entities, self.user_ids)  # fmt: skip
        return self._linked

    def graph_channel(self, first: list[Fused], depth: int) -> list[tuple[str, float]]:
        if self.recipe.graph_walk == "ppr":
            return self.ppr_channel(first, depth)
        ops, recipe = self.owner.ops, self.recipe
        linked = self.linked()
        # A topic the query names seeds at ``concept_seed`` of its score (0: not at all).
        weighted = ((entity_id, score * (recipe.concept_seed if entity.type in CONCEPTS else 1.0))
                    for entity_id, (entity, score, _how) in linked.items())  # fmt: skip
        seeds = {entity_id: score for entity_id, score in weighted if score > 0}
        names = {entity_id: entity.name for entity_id, (entity, _s, _how) in linked.items()}
        spent: dict[str, int] = {}
        if first and recipe.seeds_from_hits:
            top = first[0].score or 1.0
            mentioned = ops.mentions_of([f.memory_id for f in first])
            for f in first:
                weight = recipe.hit_seed_weight * f.score / top
                for entity_id in mentioned.get(f.memory_id, []):
                    if entity_id not in seeds:
                        spent[entity_id] = recipe.depth - recipe.hit_seed_depth
                    if entity_id in spent:
                        seeds[entity_id] = max(seeds.get(entity_id, 0.0), weight)
        self.seeds = seeds
        if not seeds:
            return []
        relevance = Relevance(self.text, self.vector, self.owner.name_vectors)
        # What a hub may offer: enough equal scores to fill this channel's list twice.
        self.fanout = max(recipe.fanout, 2 * depth)
        self.graph = walk(seeds, self.scope, ops, recipe, relevance, as_of=self.as_of,
                          include_invalid=self.include_invalid, names=names,
                          mentioning=self.name_mentions, spent=spent, fanout=self.fanout,
                          degree=self.mention_degree.__getitem__,
                          only_named=self.user_ids if recipe.user_relations == "named"
                          else frozenset())  # fmt: skip
        # Best first, popped from a heap: a walk through a hub (a city with thousands of
        # residents) offers ~15k facts and the search keeps ``depth`` of them; sorting
        # them all took 40% of such a search (measured at 100k memories in one scope).
        ranked = [(-score, fact_id) for fact_id, (score, _path) in self.graph.facts.items()]
        heapq.heapify(ranked)
        out = []
        while ranked and len(out) < depth:
            negative, fact_id = heapq.heappop(ranked)
            payload = self.groups.row(fact_id)
            if payload is not None and self.accept(payload):
                out.append((fact_id, -negative))
        return self.groups.collapse(out)

    def name_mentions(self, names: dict[str, str]) -> list[tuple[str, str]]:
        """``(entity id, fact id)`` for facts containing every word of the entity's name,
        at most ``fanout`` per entity (the lowest ids, as equal scores rank); how many
        there are in all goes to ``mention_degree``."""
        out = []
        for entity_id, name in names.items():
            count, first = self.owner.containing(self.index, name, self.fanout)
            self.mention_degree[entity_id] = count
            out += [(entity_id, fact_id) for fact_id in first]
        return out

    def similar_entities(self, spans: list[str]) -> list[tuple[str, Entity, float]]:
        """Stored entities whose name embedding is close to a span of the query."""
        out = []
        _ = self.vector  # embeds the spans with the query
        missing = [s for s in spans if s not in self.span_vectors]
        self.span_vectors.update(zip(missing, self.owner.embedder.embed(missing) if missing
                                     else [], strict=True))  # fmt: skip
        for span in spans:
            vector = self.span_vectors[span]
            for hit in self.owner.vectors.search(ENTITIES, vector, self.scope, limit=3):
                if hit.score < self.recipe.entity_similarity:
                    break
                # The point's payload names the entity: no graph round trip needed.
                p = hit.payload
                entity = Entity(str(p.get("entity_id") or hit.id), str(p.get("name", "")),
                                str(p.get("type", "")), Scope.from_row(p))  # fmt: skip
                out.append((span, entity, hit.score))
        return out
