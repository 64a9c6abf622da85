"""The relationship API, ``memory.graph``: entities, their relations, neighbours and paths.

Every method takes the scope (``user_id``/``agent_id``/``run_id``) and only ever reads
through scope-filtered named queries, so nothing of another scope can come back.
Traversal is iterated 1-hop expansion (``relations_touching``) done here in Python: it
is the same on every backend, where variable-length Cypher patterns are not.

    >>> alice = memory.graph.entity("Alice", user_id="u")            # doctest: +SKIP
    >>> memory.graph.paths("Alice", "Paris", user_id="u")            # doctest: +SKIP
    [[PathStep('Alice', 'brother', 'Bob'), PathStep('Bob', 'lives_in', 'Paris')]]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, ValidationError
from .index.filters import check_as_of, live, visible
from .lifecycle.clock import now_text
from .locks import reads
from .models import Entity, Fact, PathStep, Relation, Scope, name_key, relation_key
from .stores.base import FACTS

if TYPE_CHECKING:
    import networkx as nx

DIRECTIONS = ("both", "out", "in")


@dataclass
class Neighbour:
    entity: Entity
    depth: int
    path: list[PathStep] = field(default_factory=list)  # from the start entity to this one


def _step(rel: Relation) -> PathStep:
    return PathStep(rel.source_name, rel.name, rel.target_name)


def _check_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(name, f"must be an integer from {low} to {high}, got {value!r}")
    return value


def _check_types(types: object) -> frozenset[str] | None:
    if types is None:
        return None
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, Iterable) or not all(isinstance(t, str) and t for t in types):
        raise ValidationError("types", "must be a relation name or a list of them")
    return frozenset(relation_key(t) for t in types)


class Relations:
    """Scoped reads over the graph of one ``Memory``."""

    # Steps the last ``paths`` call tried (bounded by MAX_PATH_EXPANSIONS): lets a test, or
    # a curious caller, see that the work did not grow with the number of paths.
    path_expansions = 0

    def __init__(self, memory: Any) -> None:
        self._memory = memory

    @property
    def _ops(self):
        return self._memory.ops

    @property
    def _reading(self):
        return self._memory._reading

    # -- entities --------------------------------------------------------------------------

    @reads
    def entity(self, name: str | Entity, *, user_id=None, agent_id=None, run_id=None) -> Entity:
        """The entity called ``name`` (or with that alias, or that id) in the scope.

        Several matches (the same name in sub-scopes, or of different types) resolve to
        the one whose name is spelled exactly so, then the oldest.
        """
        return self._resolve(name, Scope.of(user_id, agent_id, run_id))

    def _resolve(self, name: str | Entity, scope: Scope) -> Entity:
        return self._resolve_all(name, scope)[0]

    def _resolve_all(self, name: str | Entity, scope: Scope) -> list[Entity]:
        """The entity ``name`` names in the scope (several matches, the same name in
        sub-scopes or of different types: the one spelled exactly so, then the oldest),
        then the one picked so in each other sub-scope the scope covers (``user_id="u"``
        covers Alice stored for agent ``x`` and Alice stored for no agent). Search and
        Cypher see all of them; the graph reads saw only the first, so ``relations``
        missed what search returned for the same scope. An ``Entity`` or an id names
        exactly one."""
        if isinstance(name, Entity):
            name = name.id
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("entity", "must be a non-empty name or an Entity")
        found = self._ops.entities_by_keys([name_key(name)], scope).get(name_key(name), [])
        if not found and len(name) == 36 and name.count("-") == 4:
            found = self._ops.entities([name], scope)
        if not found:
            raise NotFoundError(f"no entity {name!r} in scope {scope}")
        best: dict[Scope, Entity] = {}
        for e in sorted(found, key=lambda e: (e.name != name.strip(), e.created_at, e.id)):
            best.setdefault(e.scope, e)
        first = next(iter(best.values()))
        if name.strip() == first.id:
            return [first]
        return [first, *sorted((e for e in best.values() if e is not first), key=lambda e: e.id)]

    # -- relations -------------------------------------------------------------------------

    @reads
    def relations(
        self,
        entity: str | Entity,
        direction: str = "both",
        types: str | Sequence[str] | None = None,
        as_of: Any = None,
        include_invalid: bool = False,
        *,
        user_id=None,
        agent_id=None,
        run_id=None,
    ) -> list[Relation]:
        """Relations touching ``entity``: ``out`` (it is the source), ``in``, or ``both``."""
        scope = Scope.of(user_id, agent_id, run_id)
        if direction not in DIRECTIONS:
            raise ValidationError("direction", f"must be one of {DIRECTIONS}, got {direction!r}")
        wanted = _check_types(types)
        starts = {e.id for e in self._resolve_all(entity, scope)}
        rels = self._touching(starts, scope, check_as_of(as_of), _flag(include_invalid))
        out = [
            r for r in rels
            if (direction != "out" or r.source_id in starts)
            and (direction != "in" or r.target_id in starts)
            and (wanted is None or r.key in wanted)
        ]  # fmt: skip
        return sorted(out, key=lambda r: (r.valid_at, r.name, r.id))

    def _touching(self, ids, scope, as_of, include_invalid, wanted=None) -> list[Relation]:
        rels = self._ops.relations_touching(
            sorted(ids), scope, as_of=as_of, include_invalid=include_invalid
        )
        return self._supported([r for r in rels if wanted is None or r.key in wanted])

    def _supported(self, rels: list[Relation]) -> list[Relation]:
        """Relations that a live memory still supports: one whose every memory expired or
        was archived is gone from the graph's reads as the memories are from search's
        (``index/filters.py:live``), before ``maintain()`` deletes what expired."""
        ids = sorted({i for r in rels for i in r.fact_ids})
        if not ids:
            return rels
        now = now_text(self._memory.clock)
        alive = {h.id for h in self._memory.vectors.get(FACTS, ids) if live(h.payload, now)}
        return [r for r in rels if not r.fact_ids or alive.intersection(r.fact_ids)]

    @reads
    def neighbours(
        self,
        entity: str | Entity,
        depth: int = 1,
        *,
        types: str | Sequence[str] | None = None,
        as_of: Any = None,
        include_invalid: bool = False,
        user_id=None,
        agent_id=None,
        run_id=None,
    ) -> list[Neighbour]:
        """Entities within ``depth`` hops (either direction), nearest first, each with
        the first path found to it."""
        scope = Scope.of(user_id, agent_id, run_id)
        depth = _check_int(depth, "depth", 1, 3)
        wanted, when, every = _check_types(types), check_as_of(as_of), _flag(include_invalid)
        starts = [e.id for e in self._resolve_all(entity, scope)]
        paths: dict[str, tuple[int, list[PathStep]]] = {i: (0, []) for i in starts}
        frontier = set(starts)
        for hop in range(1, depth + 1):
            fresh: set[str] = set()
            for rel in self._touching(frontier, scope, when, every, wanted):
                for here, there in ((rel.source_id, rel.target_id), (rel.target_id, rel.source_id)):
                    if here in frontier and there not in paths:
                        paths[there] = (hop, [*paths[here][1], _step(rel)])
                        fresh.add(there)
            frontier = fresh
        ids = [i for i in paths if i not in starts]
        by_id = {e.id: e for e in self._ops.entities(ids, scope)}
        out = [Neighbour(by_id[i], *paths[i]) for i in ids if i in by_id]
        return sorted(out, key=lambda n: (n.depth, n.entity.name, n.entity.id))

    @reads
    def paths(
        self,
        a: str | Entity,
        b: str | Entity,
        max_hops: int = 3,
        *,
        limit: int = 10,
        types: str | Sequence[str] | None = None,
        as_of: Any = None,
        include_invalid: bool = False,
        user_id=None,
        agent_id=None,
        run_id=None,
    ) -> list[list[PathStep]]:
        """Simple paths from ``a`` to ``b`` of at most ``max_hops`` relations (followed in
        either direction; each step shows the relation's own direction), shortest first.

        Expands ``ceil(max_hops / 2)`` hops from ``a`` and the rest from ``b``: every
        relation on a short enough path touches an entity one of the two walks expanded.
        """
        scope = Scope.of(user_id, agent_id, run_id)
        max_hops = _check_int(max_hops, "max_hops", 1, 6)
        limit = _check_int(limit, "limit", 1, 1000)
        wanted, when, every = _check_types(types), check_as_of(as_of), _flag(include_invalid)
        starts = [e.id for e in self._resolve_all(a, scope)]
        ends = [e.id for e in self._resolve_all(b, scope)]
        if set(starts) & set(ends):
            return [[]]
        edges: dict[str, Relation] = {}
        for origins, hops in ((starts, (max_hops + 1) // 2), (ends, max_hops // 2)):
            seen, frontier = set(origins), list(origins)
            for _ in range(hops):
                rels = self._touching(frontier, scope, when, every, wanted)
                edges.update((r.id, r) for r in rels)
                frontier = {x for r in rels for x in (r.source_id, r.target_id)} - seen
                seen |= frontier
        adjacent: dict[str, list[tuple[str, Relation]]] = {}
        for rel in edges.values():
            adjacent.setdefault(rel.source_id, []).append((rel.target_id, rel))
            adjacent.setdefault(rel.target_id, []).append((rel.source_id, rel))
        found, self.path_expansions = [], 0
        for start in starts:  # each pair's paths; shortest first over all of them
            for end in ends:
                more, spent = _bounded_paths(adjacent, start, end, max_hops, limit)
                found += more
                self.path_expansions += spent
        found.sort(key=len)  # stable: each pair's own order kept among equal lengths
        return found[:limit]

    # -- facts and subgraphs ---------------------------------------------------------------

    @reads
    def facts_about(
        self,
        entity: str | Entity,
        *,
        as_of: Any = None,
        include_invalid: bool = False,
        user_id=None,
        agent_id=None,
        run_id=None,
    ) -> list[Fact]:
        """The memories that mention ``entity``, current ones by default, oldest first."""
        from .ingest.write import fact_from_payload

        scope = Scope.of(user_id, agent_id, run_id)
        when, every = check_as_of(as_of), _flag(include_invalid)
        starts = [e.id for e in self._resolve_all(entity, scope)]
        ids = sorted({f.id for _, f in self._ops.facts_mentioning(starts, scope)})
        hits = self._memory.vectors.get(FACTS, ids) if ids else []
        now = now_text(self._memory.clock)
        facts = [fact_from_payload(h) for h in hits
                 if scope.matches(h.payload) and visible(h.payload, when, every)
                 and live(h.payload, now)]  # fmt: skip
        return sorted(facts, key=lambda f: (f.valid_at or f.created_at, f.id))

    @reads
    def subgraph(
        self,
        entities: Sequence[str | Entity] | None = None,
        depth: int = 1,
        *,
        as_of: Any = None,
        include_invalid: bool = False,
        user_id=None,
        agent_id=None,
        run_id=None,
    ) -> nx.MultiDiGraph:
        """The scope's graph (``entities=None``) or the ``depth``-hop neighbourhood of some
        entities, as a ``networkx.MultiDiGraph``: nodes are entity ids with ``name``,
        ``type``, ``aliases`` and scope attributes; edges are keyed by relation id with
        ``name``, ``fact_ids``, ``valid_at``, ``invalid_at``."""
        scope = Scope.of(user_id, agent_id, run_id)
        depth = _check_int(depth, "depth", 0, 3)
        when, every = check_as_of(as_of), _flag(include_invalid)
        if entities is None:
            _facts, nodes, rels, _mentions = self._ops.export(scope)
            rels = self._supported([r for r in rels if visible(_rel_row(r), when, every)])
        else:
            if isinstance(entities, str | Entity):
                entities = [entities]
            elif not isinstance(entities, list | tuple | set | frozenset):
                raise ValidationError("entities", "must be a name, an Entity or a list of "
                                      f"them, or None; got {type(entities).__name__}")  # fmt: skip
            ids = {found.id for e in entities for found in self._resolve_all(e, scope)}
            frontier, edges = set(ids), {}
            for _ in range(depth):
                rels = self._touching(frontier, scope, when, every)
                edges.update((r.id, r) for r in rels)
                frontier = {x for r in rels for x in (r.source_id, r.target_id)} - ids
                ids |= frontier
            nodes, rels = self._ops.entities(sorted(ids), scope), list(edges.values())
        return build_graph(nodes, rels)

    @staticmethod
    def to_json(graph: nx.MultiDiGraph) -> dict[str, Any]:
        return to_json(graph)

    @staticmethod
    def to_graphml(graph: nx.MultiDiGraph, path: str | Path) -> Path:
        return to_graphml(graph, path)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("include_invalid", "must be True or False")
    return value


def _rel_row(rel: Relation) -> dict[str, str]:
    return {"valid_at": rel.valid_at, "invalid_at": rel.invalid_at}


def build_graph(entities: Iterable[Entity], relations: Iterable[Relation]) -> nx.MultiDiGraph:
    import networkx as nx  # here, not at import: see wire.py

    graph = nx.MultiDiGraph()
    for e in entities:
        graph.add_node(e.id, name=e.name, type=e.type, aliases=list(e.aliases),
                       created_at=e.created_at, **e.scope.params())  # fmt: skip
    for r in relations:
        if r.source_id in graph and r.target_id in graph:
            graph.add_edge(r.source_id, r.target_id, key=r.id, name=r.name,
                           fact_ids=list(r.fact_ids), created_at=r.created_at,
                           valid_at=r.valid_at, invalid_at=r.invalid_at, **r.scope.params())  # fmt: skip
    return graph


def _check_graph(graph: object) -> None:
    import networkx as nx

    if not isinstance(graph, nx.MultiDiGraph):
        raise ValidationError("graph", f"must be a graph that memory.graph.subgraph(...) "
                              f"returned, got {type(graph).__name__}")  # fmt: skip


def to_json(graph: nx.MultiDiGraph) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [...]}``: plain JSON-ready data, stable order."""
    _check_graph(graph)
    nodes = [{"id": n, **attrs} for n, attrs in sorted(graph.nodes(data=True))]
    edges = [{"source": s, "target": t, "id": k, **attrs}
             for s, t, k, attrs in sorted(graph.edges(keys=True, data=True))]  # fmt: skip
    return {"nodes": nodes, "edges": edges}


def to_graphml(graph: nx.MultiDiGraph, path: str | Path) -> Path:
    """Write GraphML; list attributes (aliases, fact_ids) become JSON strings, which
    GraphML can hold."""
    import networkx as nx

    _check_graph(graph)
    if not isinstance(path, str | Path) or not str(path).strip():
        raise ValidationError("path", f"must be a file path (str or Path), got {path!r:.80}")
    flat = nx.MultiDiGraph()
    for n, attrs in graph.nodes(data=True):
        flat.add_node(n, **{k: _flat(v) for k, v in attrs.items()})
    for s, t, k, attrs in graph.edges(keys=True, data=True):
        flat.add_edge(s, t, key=k, **{a: _flat(v) for a, v in attrs.items()})
    target = Path(path)
    try:
        nx.write_graphml(flat, target)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ValidationError("path", f"{str(target)!r:.200} cannot be written ({why}); "
                              "give a file in a folder you can write to") from exc  # fmt: skip
    return target


def _flat(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


MAX_PATH_EXPANSIONS = 100_000


def _bounded_paths(
    adjacent: dict[str, list[tuple[str, Relation]]],
    start: str,
    end: str,
    max_hops: int,
    limit: int,
) -> tuple[list[list[PathStep]], int]:
    """Up to ``limit`` simple paths, shortest first, then in order of their steps.

    Enumerating every path first and cutting to ``limit`` after took 9 s for one path on a
    16-entity clique (millions of paths of 6 hops). Here paths are produced length by
    length, each length in sorted order by a depth-first walk over sorted steps, and the
    walk stops as soon as ``limit`` paths are found. A step is only taken if the end is
    still reachable in the hops left (distances from ``end``), so every branch walked leads
    to a path; ``MAX_PATH_EXPANSIONS`` caps the work whatever the graph's shape.
    """
    for node in adjacent:
        adjacent[node].sort(key=lambda pair: (_step_key(pair[1]), pair[0]))
    distance = {end: 0}  # hops from each node to the end, over the walked relations
    frontier = [end]
    for hops in range(1, max_hops + 1):
        frontier = [n for x in frontier for n, _ in adjacent.get(x, []) if n not in distance]
        for n in frontier:
            distance.setdefault(n, hops)
    found: list[list[PathStep]] = []
    expansions = 0

    def walk(node: str, visited: set[str], steps: list[PathStep], length: int) -> bool:
        nonlocal expansions
        if node == end:
            if len(steps) == length:
                found.append(list(steps))
            return len(found) >= limit
        left = length - len(steps)
        for nxt, rel in adjacent.get(node, []):
            if nxt in visited or distance.get(nxt, max_hops + 1) > left - 1:
                continue
            expansions += 1
            if expansions > MAX_PATH_EXPANSIONS:
                return True
            visited.add(nxt)
            steps.append(_step(rel))
            stop = walk(nxt, visited, steps, length)
            steps.pop()
            visited.discard(nxt)
            if stop:
                return True
        return False

    for length in range(distance.get(start, max_hops + 1), max_hops + 1):
        if walk(start, {start}, [], length) or expansions > MAX_PATH_EXPANSIONS:
            break
    return found[:limit], expansions


def _step_key(rel: Relation) -> tuple[str, str, str]:
    return (rel.source_name, rel.name, rel.target_name)
