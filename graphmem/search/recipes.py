"""Named search recipes: which channels run, how their lists are fused, what reranks them.

A recipe is plain data. To make your own, copy one with ``dataclasses.replace`` and pass
it as ``recipe=`` (or ``register()`` it under a name)::

    from dataclasses import replace
    from graphmem.search import recipes
    deep = replace(recipes.HYBRID, name="deep", depth=2, rerank=("pagerank", "mmr"))
    memory.search("who is Bob?", user_id="u", recipe=deep)

The defaults, in short: ``hybrid`` fuses min-max weighted scores of dense, BM25 and
the graph's paths (RRF stays one field away, ``fusion="rrf"``), lifts a memory towards
a better neighbouring turn, and seeds its walk only with the entities the query names.
Every default, the figures that chose it (LoCoMo, musique-dev, the synthetic suite) and
the variants measured and not kept are in ``docs/search-recipes.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from ..errors import ValidationError

FUSIONS = ("weighted", "rrf")
RERANKERS = ("pagerank", "mmr")
GRAPH_WALKS = ("ppr", "paths")
CHANNELS = ("vector", "keyword", "graph", "bridge")


@dataclass(frozen=True)
class Recipe:
    """Settings of one way to search. Weights of 0 switch a channel off."""

    name: str
    # -- channels and fusion ------------------------------------------------------------
    weights: Mapping[str, float] = field(default_factory=dict)  # channel -> weight
    fusion: str = "weighted"  # "weighted" (min-max normalised scores) or "rrf"
    rrf_k: int = 60  # RRF constant: larger flattens the head of each list
    anchored: bool = True  # weighted: normalise from each channel's floor, not its list's min
    # how many hits each channel proposes before fusion, for any page up to this size
    # (a larger page: twice its size), so a larger page starts with the smaller one
    candidates: int = 40
    # vector: a message of more than index.scope.LONG_WORDS words moves this share of the
    # way from its own cosine to its best fact's (one vector is a blur of a long text)
    long_parts: float = 0.5
    vector_floor: str = "min"  # weighted: cosine of an unrelated memory, "min" or "median"
    keyword_coverage: float = 0.0  # keyword weight falls below this query coverage (0: off)
    keyword_gate: float = 0.0  # keyword share times cosine closeness to this power (0: off)
    # keyword_gate's band, in spreads about the scope's median cosine (both 0: from the
    # median to the search's best cosine); gate_spare: a memory whose BM25 score covers
    # this share of the query keeps its keyword share whatever its cosine (0: none)
    gate_low: float = 0.0
    gate_high: float = 0.0
    gate_spare: float = 0.0
    standout_low: float = 0.0  # keyword and graph weights fall once the best cosine stands
    standout_high: float = 0.0  # this many spreads above the scope's median, to
    standout_kept: float = 1.0  # ``standout_kept`` of themselves at ``standout_high`` (0/0: off)
    standout_graph: float = 1.0  # the graph's weight falls to this share of itself instead
    # keyword_gate for the graph's shares (0: off), over its own band of spreads about the
    # median cosine (both 0: from the median to the search's best cosine)
    graph_gate: float = 0.0
    graph_gate_low: float = 0.0
    graph_gate_high: float = 0.0
    # -- graph channel ------------------------------------------------------------------
    graph_walk: str = "paths"  # "paths" (graph.py) or "ppr" (ppr.py: arrays, PageRank)
    # -- bridge channel (bridge.py) ----------------------------------------------------
    bridge_sources: int = 3  # best text hits the bridge starts from
    bridge_facts: int = 3  # members of each whose entities lead on (closest by cosine)
    # The bridge's best lift scores 1 unless it is below this share of the strongest
    # leading memory's strength among those stating no relation (bridge.py).
    bridge_floor: float = 0.0
    ppr_restart: float = 0.5  # ppr: share of mass sent back to the seeds each step
    ppr_steps: int = 4  # ppr: steps of the walk (memory -> entity -> memory is two)
    hub_degree: int = 300  # ppr: an entity in more memories than this passes nothing on
    edge_budget: int = 20_000  # ppr: most edges one step touches
    fact_seeds: int = 10  # ppr: this many best text hits seed the walk too
    fact_seed_weight: float = 1.0  # ppr: their seed weight (the best one's) vs a named entity
    fact_seed_channel: str = ""  # graph walks, bridge: seed hits from this channel alone
    ppr_walked: bool = False  # ppr: score only the mass the walk carried, not the restart's
    match_seeds: int = 0  # ppr: entities of this many memories most like the query seed it
    match_seed_weight: float = 1.0  # ppr: their seed weight (the closest memory's)
    relation_gate: float = 1.0  # ppr: mass kept at a memory whose relations miss the query
    depth: int = 2  # hops from the linked entities (1 or 2)
    seeds_from_hits: int = 5  # entities of this many top vector/keyword hits seed the walk
    hit_seed_weight: float = 0.5  # such seeds count less than entities named in the query
    hit_seed_depth: int = 1  # and walk fewer hops (at most ``depth``)
    entity_similarity: float = 0.75  # cosine floor for linking a query span to an entity
    # path walk ("paths"): seed score of an entity the query names whose type is a concept
    # (a topic word: "dance", "fantasy"), against 1 for a named thing; 0: no seed at all
    concept_seed: float = 1.0
    hop_decay: float = 0.8  # score kept per hop
    relation_floor: float = 0.2  # share of score an irrelevant relation still passes on
    # the least relevance a relation joining two entities the query names is given (1.0:
    # as relevant as it gets, whatever its name; 0.0: its name's relevance alone)
    join_fit: float = 1.0
    # From the scope's own user (the "I" of all the user said), which relations lead on:
    # "named", only those the query names in its words ("my wife", "where do I work");
    # "all", every one, as from any other entity (graph.walk)
    user_relations: str = "named"
    mention_weight: float = 0.5  # a fact that merely mentions a reached entity
    mention_from: int = 1  # mentions of entities reached at this hop or later (0 = seeds too)
    mention_entities: int = 10  # mentions are read for at most this many entities
    frontier: int = 40  # most entities expanded per hop (hubs are expensive and vague)
    fanout: int = 100  # most relations per entity and relation name a hop follows (hubs)
    # -- context --------------------------------------------------------------------------
    neighbour_weight: float = 0.0  # how far a memory moves towards a better neighbour's score
    neighbour_reach: int = 1  # neighbours: memories up to this many places either side
    # -- reranking ------------------------------------------------------------------------
    rerank: tuple[str, ...] = ()  # any of RERANKERS, applied in order
    pagerank_weight: float = 0.3  # share of the final score from personalised PageRank
    mmr_lambda: float = 0.7  # 1.0 = pure relevance, lower = more diverse
    # -- lifecycle (boost.py): added after fusion, before reranking; 0 = off ----------------
    recency_weight: float = 0.0  # times 0.5 ** (days since last access / half-life)
    importance_weight: float = 0.0  # times the memory's importance (0.5 when unset)
    recency_half_life: float = 30.0  # days
    speaker_weight: float = 0.0  # added to a memory said by someone the query names
    # added to the assistant's words when the query asks what the assistant said (roles.py)
    assistant_weight: float = 0.0
    focus_weight: float = 0.0  # times the cosine to the query's focus (focus.py), 0 = off

    def __post_init__(self) -> None:
        # Read-only, so a recipe shared by every search cannot be changed by one caller.
        object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        object.__setattr__(self, "rerank", tuple(self.rerank))
        problems = []
        unknown = set(self.weights) - set(CHANNELS)
        if unknown:
            problems.append(f"weights: unknown channel(s) {sorted(unknown)}; use {CHANNELS}")
        if not all(isinstance(w, int | float) and not isinstance(w, bool)
                   and math.isfinite(w) for w in self.weights.values()):  # fmt: skip
            # NaN compared false with everything and ranked nothing (a search gave []);
            # an infinity gave infinite scores.
            problems.append("weights: finite numbers (not NaN or an infinity)")
        elif any(w < 0 for w in self.weights.values()) or not any(self.weights.values()):
            problems.append("weights: need at least one positive weight and none negative")
        if self.vector_floor not in ("min", "median"):
            problems.append(f"vector_floor: {self.vector_floor!r} is not 'min' or 'median'")
        if self.fusion not in FUSIONS:
            problems.append(f"fusion: {self.fusion!r} is not one of {FUSIONS}")
        if any(r not in RERANKERS for r in self.rerank):
            problems.append(f"rerank: {self.rerank!r} may only hold {RERANKERS}")
        if self.graph_walk not in GRAPH_WALKS:
            problems.append(f"graph_walk: {self.graph_walk!r} is not one of {GRAPH_WALKS}")
        if self.user_relations not in ("named", "all"):
            problems.append(f"user_relations: {self.user_relations!r} is not 'named' or 'all'")
        if self.depth not in (1, 2):
            problems.append("depth: 1 or 2")
        if not 0 <= self.hit_seed_depth <= self.depth:
            problems.append("hit_seed_depth: from 0 to depth")
        for name in ("hit_seed_weight", "hop_decay", "relation_floor", "mention_weight",
                     "pagerank_weight", "mmr_lambda", "entity_similarity",
                     "neighbour_weight", "keyword_coverage", "ppr_restart",
                     "relation_gate", "recency_weight", "importance_weight",
                     "speaker_weight", "assistant_weight", "focus_weight", "bridge_floor",
                     "long_parts", "gate_spare", "join_fit", "concept_seed"):  # fmt: skip
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name}: a number in [0, 1]")
        if not self.recency_half_life > 0:
            problems.append("recency_half_life: a positive number of days")
        if min(self.fact_seeds, self.fact_seed_weight, self.match_seeds,
               self.match_seed_weight) < 0:  # fmt: skip
            problems.append("fact_seeds, fact_seed_weight, match_seeds, match_seed_weight: "
                            "not negative")  # fmt: skip
        if self.fact_seed_channel not in ("", "vector", "keyword"):
            problems.append(f"fact_seed_channel: {self.fact_seed_channel!r} is not '', "
                            "'vector' or 'keyword'")  # fmt: skip
        if self.standout_high and not 0.0 <= self.standout_low < self.standout_high:
            problems.append("standout_low, standout_high: 0 <= low < high (both 0: off)")
        if not (0.0 <= self.standout_kept <= 1.0 and 0.0 <= self.standout_graph <= 1.0):
            problems.append("standout_kept, standout_graph: numbers in [0, 1]")
        for power, low, high in (("keyword_gate", "gate_low", "gate_high"),
                                 ("graph_gate", "graph_gate_low", "graph_gate_high")):  # fmt: skip
            if not 0.0 <= getattr(self, power) <= 4.0:
                problems.append(f"{power}: a number in [0, 4]")
            if (getattr(self, low) or getattr(self, high)) and \
                    not getattr(self, low) < getattr(self, high):  # fmt: skip
                problems.append(f"{low}, {high}: low < high, in spreads about the median "
                                "(both 0: from the median to the best cosine)")  # fmt: skip
        if self.mention_from not in (0, 1):
            problems.append("mention_from: 0 (seeds too) or 1")
        for name in ("rrf_k", "candidates", "frontier", "fanout", "mention_entities",
                     "neighbour_reach", "ppr_steps", "hub_degree", "edge_budget",
                     "bridge_sources", "bridge_facts"):  # fmt: skip
            if getattr(self, name) < 1:
                problems.append(f"{name}: a positive integer")
        if problems:
            raise ValidationError("recipe", f"{self.name!r}: " + "; ".join(problems))

    def uses(self, channel: str) -> bool:
        return self.weights.get(channel, 0.0) > 0.0

    def describe(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


VECTOR = Recipe("vector", weights={"vector": 1.0})
KEYWORD = Recipe("keyword", weights={"keyword": 1.0})
# Alone, the graph must also report what merely mentions the query's entities.
GRAPH = Recipe("graph", weights={"graph": 1.0}, seeds_from_hits=0, mention_from=0)
# Neighbour lifting, shared by text and hybrid so the graph is the only difference.
_NEIGHBOURS = {"neighbour_weight": 0.5, "neighbour_reach": 2}
# Fusion of the flat channels, shared by text and hybrid. The issue 22 options
# vector_floor "median" and keyword_coverage stay off; the standout rule
# (fuse.standout_weight) and the keyword gate over one spread about the median cosine,
# sparing a memory that matches half of the query (fuse.gate), are on: measured in
# docs/search-recipes.md.
_FUSION = {
    "vector_floor": "min",
    "keyword_coverage": 0.0,
    "keyword_gate": 1.0,
    "gate_low": -0.5,
    "gate_high": 0.5,
    "gate_spare": 0.5,
    "standout_low": 3.0,
    "standout_high": 5.0,
    "standout_kept": 0.2,
    "standout_graph": 0.3,
}
_FLAT = {"vector": 0.5, "keyword": 0.5}
# A memory said by the person the query names (``boost.speakers``), shared by text and
# hybrid; measured in boost.py.
_SPEAKER = {"speaker_weight": 0.1, "assistant_weight": 0.25}
# The focus part (focus.py) re-orders what follows the first five hits; measured there.
_SPEAKER_AND_FOCUS = {**_SPEAKER, "focus_weight": 0.4}
# What a graph share must show to count in full (measured in docs/search-recipes.md): a
# relation joining two named entities is weighed by its name like any other, and a memory
# whose meaning is no closer to the query than the scope's typical one keeps little of it.
_GRAPH_EVIDENCE = {"join_fit": 0.0, "graph_gate": 2.0, "graph_gate_low": 0.0,
                   "graph_gate_high": 1.0}  # fmt: skip
# Only entities the query names seed the walk, and the graph weighs as much as each flat
# channel; the bridge (bridge.py) at 0.2 beside it, its vague lifts from memories stating
# no relation held under 0.05 of their strength. Measured in docs/search-recipes.md.
HYBRID = Recipe(
    "hybrid",
    weights={**_FLAT, "graph": 1.0, "bridge": 0.2},
    bridge_floor=0.05,
    seeds_from_hits=0,
    concept_seed=0.0,
    **_GRAPH_EVIDENCE,
    **_NEIGHBOURS,
    **_FUSION,
    **_SPEAKER_AND_FOCUS,
)
# The settings docs/search-recipes.md's first LoCoMo table measured (graph 0.5, decay 0.8).
_HYBRID_BEFORE = {"vector": 0.5, "keyword": 0.5, "graph": 0.5}
# hybrid_rrf (RRF of the three channels) and hybrid_pagerank (networkx PageRank over the
# retrieved subgraph, blended in after fusion) are no longer named recipes: hybrid_rrf was
# the worst fused recipe on every set measured (LoCoMo recall@10 0.584 vs 0.633 for the
# weighted text recipe of its day, and last on four other retrieval sets), and the graph
# channel itself now walks by personalised PageRank (ppr.py), so a second, slower PageRank
# over the same evidence had nothing left to add (0.613 vs 0.634 on LoCoMo). Both remain
# one field away: fusion="rrf", rerank=("pagerank",).
# Opt-in until it wins: the graph channel as personalised PageRank over arrays (ppr.py),
# seeded by the named entities and the ten best text hits; measured in
# docs/search-recipes.md.
HYBRID_PPR = Recipe("hybrid_ppr", weights={**_FLAT, "graph": 1.0}, graph_walk="ppr",
                    match_seeds=5, fact_seeds=40, ppr_walked=True,
                    **_NEIGHBOURS, **_FUSION, **_SPEAKER)  # fmt: skip
HYBRID_MMR = Recipe("hybrid_mmr", weights=_HYBRID_BEFORE, rerank=("mmr",))
# The two flat channels without the graph: the strongest simple baseline on LoCoMo.
TEXT = Recipe("text", weights=_FLAT, **_NEIGHBOURS, **_FUSION, **_SPEAKER_AND_FOCUS)

RECIPES: dict[str, Recipe] = {
    r.name: r for r in (VECTOR, KEYWORD, GRAPH, HYBRID, HYBRID_PPR, HYBRID_MMR, TEXT)
}


def register(recipe: Recipe) -> Recipe:
    """Make ``recipe`` available by name (``recipe="<name>"``); replaces a same-named one."""
    if not isinstance(recipe, Recipe):
        raise ValidationError("recipe", f"expected a Recipe, got {type(recipe).__name__}")
    RECIPES[recipe.name] = recipe
    return recipe


def get(recipe: str | Recipe) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if not isinstance(recipe, str):
        raise ValidationError("recipe", f"expected a name or a Recipe, got {type(recipe).__name__}")
    try:
        return RECIPES[recipe]
    except KeyError:
        raise ValidationError(
            "recipe", f"unknown recipe {recipe!r}; known: {', '.join(sorted(RECIPES))}"
        ) from None
