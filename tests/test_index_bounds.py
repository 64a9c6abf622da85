"""Bounded memory for many scopes (issue 16): ``index_max_scopes`` caps the in-process
indexes held, a dropped scope answers the same once rebuilt from the stores (read a page
at a time), and Kuzu's page cache has a size of its own."""

from __future__ import annotations

import pytest

from graphmem import Config, Memory
from graphmem.errors import ConfigError
from graphmem.models import Scope

USERS = ["u0", "u1", "u2", "u3"]
QUERY = "Who lives in Paris and paints?"


def _open(path, **settings) -> Memory:
    return Memory.open(path, embedder="hash", extractor="offline", track_access=False,
                       **settings)  # fmt: skip


def _texts(user: str, count: int) -> list[dict]:
    people = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace"]
    cities = ["Paris", "Lyon", "Berlin", "Rome", "Kyoto"]
    return [{"text": f"{people[i % 7]} {user}-{i} lives in {cities[i % 5]} and paints "
             f"{'landscapes' if i % 3 else 'portraits'} number {i}.",
             "source_ids": [f"{user}:{i}"]} for i in range(count)]  # fmt: skip


def _answers(m: Memory, user: str) -> dict[str, list[tuple[str, float]]]:
    return {recipe: [(h.memory_id, round(h.score, 9)) for h in
                     m.search(QUERY, user_id=user, limit=10, recipe=recipe)]
            for recipe in ("vector", "keyword", "graph", "hybrid")}  # fmt: skip


def test_held_indexes_stay_within_the_cap_and_a_dropped_scope_answers_the_same(tmp_path):
    with _open(tmp_path / "d", index_max_scopes=2) as m:
        # u0 spans several pages of the store's scan (1,000 points each).
        for user, count in zip(USERS, [2300, 40, 40, 40], strict=True):
            m.add_many(_texts(user, count), user_id=user, infer=False)
        first = _answers(m, "u0")  # grown with the writes
        others = {user: _answers(m, user) for user in USERS[1:]}
        held = m.vectors.cached_scopes()
        assert len(held) <= 2 and all(s.user_id != "u0" for s in held)
        assert _answers(m, "u0") == first  # rebuilt from the stores
        # A rebuilt index holds the rows it has, not the next power of two (4,096 here).
        rebuilt = m.vectors.index(Scope.of("u0"))
        assert rebuilt._matrix.shape[0] == len(rebuilt) == 2300
        assert {user: _answers(m, user) for user in USERS[1:]} == others
        assert len(m.vectors.cached_scopes()) <= 2
        assert len(m.vectors.cached_scopes("entities")) <= 2
        # Nothing of another user's leaks into a rebuilt scope.
        own = {fact.id for fact in m.get_all(user_id="u1", limit=100)}
        assert all(h.memory_id in own for h in m.search(QUERY, user_id="u1", limit=10))


def test_a_small_graph_page_cache_still_serves_graph_search(tmp_path):
    with _open(tmp_path / "d", graph_buffer_pool_mb=64) as m:
        m.add("Alice's brother is Bob. Bob lives in Paris.", user_id="u")
        hits = m.search("Where does Alice's brother live?", user_id="u", recipe="graph")
        assert any("Paris" in h.text for h in hits)


def _kuzu_setting(m: Memory, name: str) -> str:
    store = getattr(m.graph_store, "inner", m.graph_store)  # under the in-process copy
    return store._conn.execute(f"CALL current_setting('{name}') RETURN *").get_all()[0][0]


@pytest.mark.parametrize("given, expected", [(None, 64), (1, 1), (0, 16)])
def test_the_checkpoint_size_reaches_kuzu_and_the_graph_survives_reopening(
    tmp_path, given, expected
):
    """0 keeps Kuzu's own 16 MB; a small size checkpoints often, and nothing is lost."""
    settings = {} if given is None else {"graph_checkpoint_mb": given}
    with _open(tmp_path / "d", **settings) as m:
        assert int(_kuzu_setting(m, "checkpoint_threshold")) == expected * 2**20
        m.add_many(_texts("u", 300), user_id="u", infer=False)
        before = _answers(m, "u")
    with _open(tmp_path / "d", **settings) as m:
        assert _answers(m, "u") == before
        assert len(m.get_all(user_id="u", limit=1000)) == 300


@pytest.mark.parametrize("setting, value", [("index_max_scopes", 0),
                                            ("graph_buffer_pool_mb", -1),
                                            ("graph_checkpoint_mb", -1)])  # fmt: skip
def test_bad_bounds_are_refused_naming_the_setting(tmp_path, setting, value):
    with pytest.raises(ConfigError, match=setting):
        _open(tmp_path / "d", **{setting: value})
    assert not (tmp_path / "d").exists()


def test_bounds_come_from_the_environment():
    env = {"GRAPHMEM_INDEX_MAX_SCOPES": "3", "GRAPHMEM_GRAPH_BUFFER_POOL_MB": "256",
           "GRAPHMEM_GRAPH_CHECKPOINT_MB": "8"}  # fmt: skip
    config = Config.from_env(env)
    assert (config.index_max_scopes, config.graph_buffer_pool_mb) == (3, 256)
    assert config.graph_checkpoint_mb == 8
    with pytest.raises(ConfigError, match="GRAPHMEM_INDEX_MAX_SCOPES"):
        Config.from_env({"GRAPHMEM_INDEX_MAX_SCOPES": "many"})


def test_a_scope_with_many_entities_reopens_from_its_saved_indexes(tmp_path):
    people = [f"Person{chr(65 + i // 26)}{chr(97 + i % 26)}" for i in range(90)]
    with _open(tmp_path / "d") as m:
        m.add_many([{"text": f"{p} lives in Paris."} for p in people], user_id="u", infer=False)
        m.search("Paris", user_id="u")
    with _open(tmp_path / "d") as m:
        m.add("Zed lives in Rome.", user_id="u")  # loads every snapshot still waiting
        assert m.snapshots.rejected == []
        assert m.snapshots.loaded >= 3  # facts, entities (90 of them) and the graph


def test_a_rebuilt_scope_never_answers_from_another_scopes_cached_reads(tmp_path):
    """With one index held, every switch of user drops an index and builds another of
    the same size; what search caches by index (the memories holding a name) must still
    be the user's own: the graph channel finds each user's Paris painters, every round."""
    users = [f"v{i}" for i in range(6)]
    with _open(tmp_path / "d", index_max_scopes=1) as m:
        for user in users:
            m.add_many(_texts(user, 10), user_id=user, infer=False)
        for _round in range(8):
            for user in users:
                own = {fact.id for fact in m.get_all(user_id=user, limit=100)}
                hits = m.search(QUERY, user_id=user, limit=10, recipe="graph")
                assert hits and {h.memory_id for h in hits} <= own, (user, _round)
