"""The graph channel: link the query to entities, walk their neighbourhood, score facts.

1. ``link``: entities named in the query (every 1-4 word n-gram, possessives stripped,
   looked up by exact name/alias key; "I"/"my", or "the user", stands for the user),
   capitalised spans that matched nothing are looked up by embedding in the ``entities``
   collection, and the entities of the best vector/keyword hits join as weaker seeds.
2. ``walk``: iterated 1-hop expansion with ``relations_touching`` (portable and fast on
   both backends; Kuzu and Neo4j spell variable-length paths differently). Each hop keeps
   ``hop_decay`` of the score, times how relevant the relation is to the query: an
   irrelevant relation still passes on ``relation_floor`` of it. Only the ``frontier``
   best entities are expanded further, so a hub cannot flood the walk.
3. A fact scores what the best path through a relation it supports scored (it *is* the
   evidence of that edge), or ``mention_weight`` times the summed scores (at most 1) of
   the reached entities it merely mentions, each divided by the square root of how many
   facts mention that entity: being one of 300 lines that name a conversation's speaker
   says little. Mentions are read only for the few best entities reached at hop
   ``mention_from`` or later; the keyword channel already finds facts naming the query's
   own entities. ``mentioning`` finds them: by default the graph's MENTIONS edges, in a
   search the in-process keyword index (facts containing every word of the entity's
   name, the rule ingest links mentions by), which spares a graph query that returned
   600+ rows for a conversation's speaker (measured ~25-50 ms on LoCoMo).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..index.keyword import STOPWORDS, tokenise
from ..models import Entity, PathStep, Relation, Scope, name_key
from ..stores.graph_ops import GraphOps
from ..text import split_scripts
from .recipes import Recipe

_WORD = re.compile(r"[\w][\w\-.&']*")
_POSSESSIVE = re.compile(r"['’]s?$")
# Words that stand for the scope's user: "I" as the user says it, and "user" as an agent
# that asks in its own voice says it ("What does the user do for work?").
_SELF = frozenset({"i", "me", "my", "mine", "myself", "user"})
_MAX_NGRAM = 4
# Entity types of a topic rather than a named thing ("dance", "fantasy"): the extractors'
# word for it (ENTITY_TYPES in llm/prompts.py, the offline extractor's concept phrases).
CONCEPTS = frozenset({"concept"})
_MAX_CJK_NAME = 8  # characters: 中华人民共和国 is seven
_SPAN = re.compile(r"\b[A-Z][\w\-&.']*(?:\s+(?:[A-Z][\w\-&.']*|of|de|van|von))*")


@dataclass
class Reach:
    """How well, and along which path, the walk reached an entity."""

    score: float
    path: list[PathStep] = field(default_factory=list)
    hops: int = 0
    start: int = 0  # hops already spent at the seed it came from (see ``walk``)


Mentioning = Callable[[dict[str, str]], list[tuple[str, str]]]


@dataclass
class GraphResult:
    facts: dict[str, tuple[float, list[PathStep]]] = field(default_factory=dict)
    reached: dict[str, Reach] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # entity id -> name
    relations: dict[str, Relation] = field(default_factory=dict)
    walked: list[Relation] = field(default_factory=list)  # the relations a hop went along
    linked: set[tuple[str, str]] = field(default_factory=set)  # (fact id, entity id) by name
    # Facts whose best score is a mention of a reached entity, not a relation they support.
    by_mention: set[str] = field(default_factory=set)

    @property
    def mentions(self) -> set[tuple[str, str]]:
        """``(fact id, entity id)``: the facts of each walked relation name both its ends,
        and those found naming a reached entity name it. Made when asked (the PageRank
        rerank reads it): kept as the walk went, it cost ~5% of a search on hub-heavy data.
        """
        found = {(f, e) for rel in self.walked for f in rel.fact_ids
                 for e in (rel.source_id, rel.target_id)}  # fmt: skip
        return found | self.linked

    def offer(self, fact_id: str, score: float, path: list[PathStep]) -> bool:
        """Keeps ``score`` for ``fact_id`` if it beats the one held; says whether it did."""
        best = self.facts.get(fact_id)
        if best is None or score > best[0]:
            self.facts[fact_id] = (score, path)
            return True
        return False

    def one_hop(self, fact_id: str) -> bool:
        """Whether the fact's best score is a relation it supports, one hop from a seed."""
        held = self.facts.get(fact_id)
        return held is not None and len(held[1]) <= 1 and fact_id not in self.by_mention


def query_keys(query: str, scope: Scope) -> list[str]:
    """Name keys worth looking up: n-grams that are not only stopwords, plus the user.

    A run of Chinese, Japanese or Korean has no spaces to cut names at: each of its
    substrings of two to ``_MAX_CJK_NAME`` characters is a key ("我在东京工作" asks for
    东京 among others; a lone character only where it stands alone). The run also ends an
    n-gram of the words around it."""
    keys = set()
    runs: list[list[str]] = [[]]  # words between CJK runs: n-grams stay inside one
    for word in _WORD.findall(query):
        for part, cjk in split_scripts(word):
            if cjk:
                keys.update(_cjk_names(name_key(part)))
                runs.append([])
            elif part := _POSSESSIVE.sub("", part).strip(".-'"):
                runs[-1].append(part)
    for words in runs:
        for size in range(1, _MAX_NGRAM + 1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                if all(w.casefold() in STOPWORDS for w in gram):
                    continue
                keys.add(name_key(" ".join(gram)))
    if scope.user_id and any(w.casefold() in _SELF for words in runs for w in words):
        keys.add(name_key(scope.user_id))
    return sorted(keys)


def _cjk_names(run: str) -> list[str]:
    if len(run) < 2:
        return [run]
    return [run[i : i + size] for size in range(2, min(len(run), _MAX_CJK_NAME) + 1)
            for i in range(len(run) - size + 1)]  # fmt: skip


def capitalised_spans(query: str) -> list[str]:
    spans = [_POSSESSIVE.sub("", s).strip() for s in _SPAN.findall(query)]
    return [s for s in spans if s and s.casefold() not in STOPWORDS]


def link(
    query: str,
    scope: Scope,
    ops: GraphOps,
    recipe: Recipe,
    similar: Callable[[list[str]], list[tuple[str, Entity, float]]] | None = None,
    user_ids: set[str] | None = None,
) -> dict[str, tuple[Entity, float, str]]:
    """Entities the query names: ``{entity id: (entity, seed score, how)}``.

    ``similar(spans)`` finds stored entities whose name embedding is close to a span
    (``(span, entity, cosine)``); it is only asked about spans no name key matched.
    ``user_ids``, when given, receives the ids of the scope's own user entity (the "I" of
    everything its user said), read in the same lookup whether the query names it or not.
    """
    found: dict[str, tuple[Entity, float, str]] = {}
    keys = query_keys(query, scope)
    user = name_key(scope.user_id) if scope.user_id and user_ids is not None else ""
    by_key = ops.entities_by_keys(sorted({*keys, user}) if user else keys, scope)
    if user:
        user_ids.update(entity.id for entity in by_key.get(user, ()))
        if user not in keys:  # not named: no seed
            by_key.pop(user, None)
    for entities in by_key.values():
        for entity in entities:
            found[entity.id] = (entity, 1.0, "name")
    if similar is not None:
        unmatched = [s for s in capitalised_spans(query) if name_key(s) not in by_key]
        for _span, entity, score in similar(unmatched) if unmatched else []:
            if score >= recipe.entity_similarity and entity.id not in found:
                found[entity.id] = (entity, score, "embedding")
    return found


class Relevance:
    """How much a relation has to do with the query, in [0, 1].

    Lexical overlap of the relation's words with the query's ("live" ~ "lives_in") is
    exact and cheap; the embedding similarity of the relation name to the query catches
    paraphrases ("job" ~ "works_at") when the embedder knows meaning. ``vectors_of``
    returns unit vectors of relation names (the caller caches them across searches:
    there are few distinct names, and a model call per search would cost more than the
    whole walk).
    """

    def __init__(self, query: str, query_vector: Sequence[float] | None, vectors_of=None) -> None:
        self.terms = set(tokenise(query))
        self.vector = None if query_vector is None else np.asarray(query_vector, np.float32)
        self.vectors_of = vectors_of
        self._cache: dict[str, float] = {}
        self._named: dict[str, bool] = {}

    def prepare(self, names: Sequence[str]) -> None:
        todo = sorted({n for n in names if n not in self._cache})
        sims = [0.0] * len(todo)
        if todo and self.vector is not None and self.vectors_of is not None:
            found = self.vectors_of(todo)
            sims = [max(0.0, float(found[n] @ self.vector)) for n in todo]
        for name, sim in zip(todo, sims, strict=True):
            lexical = 1.0 if self.named(name) else 0.0
            self._cache[name] = max(lexical, min(1.0, sim))

    def __call__(self, name: str) -> float:
        if name not in self._cache:
            self.prepare([name])
        return self._cache[name]

    def named(self, name: str) -> bool:
        """Whether the query holds a word of the relation's name ("my wife" ~ "wife",
        "where do I work" ~ "works_at"), as opposed to being near it in meaning."""
        found = self._named.get(name)
        if found is None:
            found = self._named[name] = bool(self.terms & set(tokenise(name.replace("_", " "))))
        return found


def walk(
    seeds: dict[str, float],
    scope: Scope,
    ops: GraphOps,
    recipe: Recipe,
    relevance: Relevance,
    *,
    as_of: str = "",
    include_invalid: bool = False,
    names: dict[str, str] | None = None,
    mentioning: Mentioning | None = None,
    spent: dict[str, int] | None = None,
    fanout: int | None = None,
    degree: Callable[[str], int] | None = None,
    only_named: frozenset[str] | set[str] = frozenset(),
) -> GraphResult:
    """Expand ``seeds`` (entity id -> score) ``recipe.depth`` hops and score the facts.

    ``names`` are the seeds' names where known; ``mentioning({entity id: name})`` returns
    ``(entity id, fact id)`` pairs (default: MENTIONS edges from the graph). ``spent``
    gives seeds that may walk fewer hops (entities of the best hits: they were found,
    not named, and their second hop cost half the search's time for little, measured).

    ``fanout`` bounds what a hub costs: each expanded entity passes its score along at
    most that many relations per relation name (``GraphOps.relations_touching``), those
    whose first fact id sorts lowest, as equal scores rank, plus every relation to an
    entity the query named. A city ten thousand people live in then offers ``fanout``
    facts, where the whole city offered ten thousand equal scores (measured at 100k
    memories: 4,170 relations read per hybrid search, most of its time). ``mentioning``
    may be bounded the same way; ``degree(entity id)`` then says how many facts mention
    the entity in all, which is what a mention's weight is divided by.

    From an entity in ``only_named`` (the scope's own user, the "I" of everything the user
    said) a relation leads on only where the query names it ("my wife", "where do I
    work") or joins an entity the query names. Every relation of the user is about the
    user, so being one says nothing, and a relation name's nearness in meaning cannot
    pick one out: MiniLM puts "What is my job?" at 0.43 of ``works_at``, 0.37 of ``wife``
    and 0.34 of ``dog``. With ``relation_floor`` and that nearness, a first-person
    question lifted all of the user's relations nearly alike ("What should I cook for
    dinner?" ranked the user's neighbour above their being vegetarian). ``bridge`` does
    not step through the user either.
    """
    spent = spent or {}
    reached = {e: Reach(s, start=spent.get(e, 0)) for e, s in seeds.items()}
    result = GraphResult(reached=reached, names=dict(names or {}))
    frontier = [
        e for e in sorted(seeds, key=lambda e: -seeds[e]) if reached[e].start < recipe.depth
    ]
    frontier = frontier[: recipe.frontier]
    for hop in range(1, recipe.depth + 1):
        if not frontier:
            break
        named = [e for e, score in seeds.items() if score >= 1.0]
        rels = ops.relations_touching(frontier, scope, as_of=as_of, fanout=fanout, keep=named,
                                      include_invalid=include_invalid)  # fmt: skip
        relevance.prepare([r.name for r in rels])
        # Scores as they stood when the hop began, so the order rows arrive in is moot.
        start = {e: result.reached[e] for e in frontier}
        improved: dict[str, Reach] = {}
        # Read once: this loop runs for each of the ~700 relations a search on hub-heavy
        # data reads, and each fact it offers (``GraphResult.offer``, inlined).
        facts, names, floor = result.facts, result.names, recipe.relation_floor
        for rel in rels:
            source_id, target_id, fact_ids = rel.source_id, rel.target_id, rel.fact_ids
            result.relations[rel.id] = rel
            names.setdefault(source_id, rel.source_name)
            names.setdefault(target_id, rel.target_name)
            step = PathStep(rel.source_name, rel.name, rel.target_name)
            stepped = False
            for here, there in ((source_id, target_id), (target_id, source_id)):
                origin = start.get(here)
                if origin is None:
                    continue
                # Joining two entities the query named: at least ``join_fit`` (see Recipe).
                fit = relevance(rel.name)
                if seeds.get(there, 0.0) >= 1.0:
                    fit = max(fit, recipe.join_fit)
                elif here in only_named and not relevance.named(rel.name):
                    continue
                stepped = True
                score = origin.score * recipe.hop_decay * (floor + (1.0 - floor) * fit)
                path = [*origin.path, step]
                for fact_id in fact_ids:
                    held = facts.get(fact_id)
                    if held is None or score > held[0]:
                        facts[fact_id] = (score, path)
                best = improved.get(there) or result.reached.get(there)
                if best is None or score > best.score:
                    improved[there] = Reach(score, path, hop, origin.start)
            if stepped:
                result.walked.append(rel)
        result.reached.update(improved)
        # An entity reached better than before (a weak seed found again through a strong
        # one) is expanded again, so its neighbours inherit the better score and path.
        onward = [e for e in improved if improved[e].start + hop < recipe.depth]
        frontier = sorted(onward, key=lambda e: -improved[e].score)[: recipe.frontier]
    if mentioning is None:
        mentioning = _graph_mentions(ops, scope)
    _mentioning(result, recipe, mentioning, degree)
    return result


def _graph_mentions(ops: GraphOps, scope: Scope) -> Mentioning:
    def find(names: dict[str, str]) -> list[tuple[str, str]]:
        return [(e, fact.id) for e, fact in ops.facts_mentioning(list(names), scope)]

    return find


def _mentioning(
    result: GraphResult,
    recipe: Recipe,
    mentioning: Mentioning,
    degree: Callable[[str], int] | None = None,
) -> None:
    """Facts that mention the best reached entities: evidence about them, if weaker."""
    near = [e for e, r in result.reached.items() if recipe.mention_from <= r.hops <= 1]
    near = sorted(near, key=lambda e: (-result.reached[e].score, e))[: recipe.mention_entities]
    if not near or recipe.mention_weight <= 0.0:
        return
    found: dict[str, list[str]] = {}
    for entity_id, fact_id in mentioning({e: result.names.get(e, "") for e in near}):
        result.linked.add((fact_id, entity_id))
        found.setdefault(fact_id, []).append(entity_id)
    counts = Counter(e for entity_ids in found.values() for e in entity_ids)
    if degree is not None:
        counts = Counter({e: max(count, degree(e)) for e, count in counts.items()})
    for fact_id, entity_ids in found.items():
        reaches = sorted((result.reached[e] for e in entity_ids), key=lambda r: -r.score)
        total = min(1.0, sum(result.reached[e].score / math.sqrt(counts[e]) for e in entity_ids))
        if result.offer(fact_id, total * recipe.mention_weight, reaches[0].path):
            result.by_mention.add(fact_id)
