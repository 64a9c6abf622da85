"""``graph.paths`` on a dense graph: the work is bounded by ``limit``, not by how many paths
exist (a 16-entity clique has millions of simple paths of up to 6 hops)."""

from __future__ import annotations

import itertools

import pytest

from graphmem import Memory

MAX_PATH_EXPANSIONS = 100_000  # graphmem.relations' cap

USER = "u"
N = 16


@pytest.fixture(scope="module")
def clique(tmp_path_factory):
    names = [f"Node{i:02d}" for i in range(N)]
    with Memory.open(tmp_path_factory.mktemp("clique") / "data", embedder="hash") as m:
        pairs = list(itertools.combinations(names, 2))
        m.add_triples([(a, "knows", b) for a, b in pairs], user_id=USER)
        yield m, names


def test_one_path_on_a_clique_takes_a_handful_of_steps(clique):
    m, names = clique
    paths = m.graph.paths(names[0], names[1], max_hops=6, limit=1, user_id=USER)
    assert len(paths) == 1 and len(paths[0]) == 1  # the direct relation, shortest first
    assert m.graph.path_expansions <= N


def test_many_paths_on_a_clique_cost_steps_in_proportion_to_the_limit(clique):
    m, names = clique
    limit = 200
    paths = m.graph.paths(names[0], names[1], max_hops=6, limit=limit, user_id=USER)
    assert len(paths) == limit
    lengths = [len(p) for p in paths]
    assert lengths == sorted(lengths)  # shortest first
    assert len({tuple((s.source, s.target) for s in p) for p in paths}) == limit  # distinct
    # Every step taken leads to a path: at most max_hops steps per path found, plus the
    # restart of each length.
    assert m.graph.path_expansions <= limit * 6 + 6 * N
    assert m.graph.path_expansions < MAX_PATH_EXPANSIONS


def test_paths_between_unconnected_entities_do_no_work(clique):
    m, names = clique
    m.add_triples([("Island", "knows", "Islet")], user_id=USER)
    assert m.graph.paths(names[0], "Island", max_hops=6, limit=10, user_id=USER) == []
    assert m.graph.path_expansions == 0
