"""Conformance tests for VectorStore backends, plus Qdrant-specific edges (locks, URLs).

Every test taking ``make_store`` runs once per entry of ``BACKENDS``; a server backend is
one more entry there (skipped when its URL is not configured).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import graphmem
from graphmem.config import Config
from graphmem.errors import BackendUnavailableError, ConfigError, ValidationError
from graphmem.models import Scope
from graphmem.stores.base import VectorPoint, VectorStore
from graphmem.stores.qdrant import QdrantVectorStore
from graphmem.stores.qdrant_edge import EdgeVectorStore

DIM = 8
EMBEDDER = "test-embedder"
REPO_ROOT = Path(graphmem.__file__).resolve().parent.parent

BACKENDS = {
    "memory": lambda tmp_path, **kw: QdrantVectorStore(":memory:", **kw),
    "path": lambda tmp_path, **kw: QdrantVectorStore(path=tmp_path / "qdrant", **kw),
    "edge": lambda tmp_path, **kw: EdgeVectorStore(tmp_path / "edge", **kw),
}


@pytest.fixture(params=sorted(BACKENDS))
def make_store(request, tmp_path):
    made = []

    def factory(**kwargs):
        store = BACKENDS[request.param](tmp_path, **kwargs)
        made.append(store)
        return store

    yield factory
    for store in made:
        store.close()


@pytest.fixture
def store(make_store):
    vectors = make_store()
    vectors.open(DIM, EMBEDDER)
    return vectors


def unit(seed: int) -> list[float]:
    vec = np.random.default_rng(seed).normal(size=DIM)
    return (vec / np.linalg.norm(vec)).tolist()


def point(seed: int, created_at: str = "2026-01-01T00:00:00.000000Z", **payload) -> VectorPoint:
    return VectorPoint(
        id=str(uuid.UUID(int=seed + 1)),
        vector=unit(seed),
        payload={"created_at": created_at, **payload},
    )


# Every combination of two users, two agents, two runs and "unset".
SCOPES = [
    {"user_id": u, "agent_id": a, "run_id": r}
    for u, a, r in itertools.product(["", "alice", "bob"], ["", "ag1", "ag2"], ["", "r1", "r2"])
    if u or a or r
]


@pytest.fixture
def populated(store):
    points = [
        point(i, f"2026-01-{i % 5 + 1:02d}T00:00:00.000000Z", **s, n=i)
        for i, s in enumerate(SCOPES)
    ]
    store.upsert("facts", points)
    return store, points


def test_implements_the_protocol(store):
    assert isinstance(store, VectorStore)


def test_every_read_sees_exactly_the_matching_scope(populated):
    store, points = populated
    for query in [Scope(**s) for s in SCOPES]:
        expected = {p.id for p in points if query.matches(p.payload)}
        assert store.count("facts", query) == len(expected)
        assert {h.id for h in store.scroll("facts", query, limit=1000)} == expected
        hits = store.search("facts", unit(0), query, limit=1000)
        assert {h.id for h in hits} == expected
    assert store.count("facts") == len(points)


def test_a_user_never_sees_another_users_nearest_point(store):
    mine, theirs = point(1, user_id="alice"), point(2, user_id="bob")
    store.upsert("facts", [mine, theirs])
    hits = store.search("facts", theirs.vector, Scope.of(user_id="alice"))
    assert [h.id for h in hits] == [mine.id]


def test_partial_scope_sees_the_union(store):
    a = point(1, user_id="alice", agent_id="support")
    b = point(2, user_id="bob", agent_id="support")
    c = point(3, user_id="alice", agent_id="sales")
    store.upsert("facts", [a, b, c])
    seen = {h.id for h in store.scroll("facts", Scope.of(agent_id="support"))}
    assert seen == {a.id, b.id}
    assert store.count("facts", Scope.of(user_id="alice")) == 2


def test_search_scores_are_cosine_similarity_best_first(store):
    vec = np.array(unit(7))
    store.upsert(
        "facts",
        [
            VectorPoint(str(uuid.uuid4()), (vec * 3).tolist(), {"user_id": "u", "k": "same"}),
            VectorPoint(str(uuid.uuid4()), (-vec).tolist(), {"user_id": "u", "k": "opposite"}),
            VectorPoint(str(uuid.uuid4()), unit(8), {"user_id": "u", "k": "other"}),
        ],
    )
    hits = store.search("facts", vec.tolist(), Scope.of(user_id="u"))
    assert [h.payload["k"] for h in hits][0] == "same"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[-1].payload["k"] == "opposite" and hits[-1].score == pytest.approx(-1.0, abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(store.search("facts", vec.tolist(), Scope.of(user_id="u"), limit=2)) == 2


def test_filters_are_equality_and_any_of(store):
    store.upsert("facts", [point(i, user_id="u", kind=k, n=i) for i, k in enumerate("aabc")])
    scope = Scope.of(user_id="u")
    assert {h.payload["n"] for h in store.scroll("facts", scope, filters={"kind": "a"})} == {0, 1}
    assert store.search("facts", unit(0), scope, filters={"kind": ["b", "c"]}, limit=10)
    assert {
        h.payload["kind"]
        for h in store.search("facts", unit(0), scope, filters={"kind": ["b", "c"]})
    } == {"b", "c"}
    assert store.scroll("facts", scope, filters={"kind": []}) == []
    assert store.search("facts", unit(0), scope, filters={"n": 3})[0].payload["kind"] == "c"
    with pytest.raises(ValidationError):
        store.scroll("facts", scope, filters={"kind": {"nested": 1}})


def test_payload_always_carries_the_scope_fields(store):
    store.upsert("facts", [point(1, user_id="u", run_id=None)])
    payload = store.scroll("facts", Scope.of(user_id="u"))[0].payload
    assert (payload["user_id"], payload["agent_id"], payload["run_id"]) == ("u", "", "")
    with pytest.raises(ValidationError, match="agent_id"):
        store.upsert("facts", [point(2, user_id="u", agent_id=7)])


def test_upsert_is_idempotent_and_overwrites(store):
    first = point(1, user_id="u", text="old")
    store.upsert("facts", [first, first])
    store.upsert("facts", [first])
    assert store.count("facts") == 1
    store.upsert("facts", [VectorPoint(first.id, first.vector, {"user_id": "u", "text": "new"})])
    assert [h.payload["text"] for h in store.get("facts", [first.id])] == ["new"]


def test_overwrite_payloads_keeps_each_vector_and_skips_ids_not_stored(store):
    first, second = point(1, user_id="u", text="old", n=1), point(2, user_id="u", text="two")
    store.upsert("facts", [first, second])
    missing = point(3, user_id="u", text="never stored")
    store.overwrite_payloads("facts", [
        VectorPoint(first.id, None, {"user_id": "u", "text": "new", "archived_at": "2026"}),
        VectorPoint(missing.id, None, missing.payload),
    ])  # fmt: skip
    got = {h.id: h for h in store.get("facts", [first.id, second.id, missing.id],
                                      with_vectors=True)}  # fmt: skip
    assert set(got) == {first.id, second.id} and store.count("facts") == 2
    # Replaced whole (the old "n" is gone), scope fields filled, the vector untouched.
    assert got[first.id].payload == {"user_id": "u", "agent_id": "", "run_id": "",
                                     "text": "new", "archived_at": "2026"}  # fmt: skip
    assert np.allclose(got[first.id].vector, first.vector, atol=1e-6)
    assert got[second.id].payload["text"] == "two"
    assert [h.id for h in store.search("facts", first.vector, Scope.of("u"), limit=1)] == [first.id]
    with pytest.raises(ValidationError, match="id"):
        store.overwrite_payloads("facts", [VectorPoint("not-a-uuid", None, {"user_id": "u"})])


def test_bad_points_are_refused_and_nothing_is_written(store):
    good = point(1, user_id="u")
    for bad in (
        VectorPoint(str(uuid.uuid4()), [1.0] * (DIM + 1)),
        VectorPoint(str(uuid.uuid4()), [0.0] * DIM),
        VectorPoint(str(uuid.uuid4()), [float("nan")] * DIM),
        VectorPoint("not-a-uuid", unit(3)),
    ):
        with pytest.raises(ValidationError):
            store.upsert("facts", [good, bad])
    assert store.count("facts") == 0


def test_delete_removes_and_ignores_missing_ids(store):
    a, b = point(1, user_id="u"), point(2, user_id="u")
    store.upsert("facts", [a, b])
    store.delete("facts", [a.id, str(uuid.uuid4())])
    store.delete("facts", [])
    assert [h.id for h in store.scroll("facts", Scope.of(user_id="u"))] == [b.id]


def test_get_keeps_the_asked_order_and_skips_missing(store):
    a, b = point(1, user_id="alice"), point(2, user_id="bob")
    store.upsert("facts", [a, b])
    hits = store.get("facts", [b.id, str(uuid.uuid4()), a.id.upper()])
    assert [h.id for h in hits] == [b.id, a.id]
    assert all(h.score == 1.0 and h.vector is None for h in hits)


def test_get_with_vectors_returns_the_direction(store):
    a = point(1, user_id="u")
    store.upsert("facts", [VectorPoint(a.id, [3 * x for x in a.vector], a.payload)])
    [hit] = store.get("facts", [a.id], with_vectors=True)
    np.testing.assert_allclose(hit.vector, a.vector, atol=1e-6)  # unit length, same direction
    store.delete("facts", [a.id])
    store.upsert("facts", [VectorPoint(hit.id, hit.vector, hit.payload)])  # restores as-is
    assert store.search("facts", a.vector, Scope.of(user_id="u"))[0].score == pytest.approx(1.0)


def test_scroll_orders_by_created_at_then_id_and_pages(store):
    stamps = ["2026-03-01", "2026-01-01", "2026-02-01", "2026-01-01", "2026-02-01"]
    store.upsert("facts", [point(i, stamps[i], user_id="u") for i in range(5)])
    scope = Scope.of(user_id="u")
    everything = store.scroll("facts", scope)
    keys = [(h.payload["created_at"], h.id) for h in everything]
    assert keys == sorted(keys) and len(keys) == 5
    pages = [store.scroll("facts", scope, limit=2, offset=o) for o in (0, 2, 4)]
    assert [h.id for page in pages for h in page] == [h.id for h in everything]
    assert store.scroll("facts", scope, offset=5) == []


def test_scan_returns_exactly_the_scope_with_unit_vectors(populated):
    store, points = populated
    by_id = {p.id: p for p in points}
    for query in [Scope(**s) for s in SCOPES]:
        found = store.scan("facts", query)
        assert sorted(h.id for h in found) == sorted(
            p.id for p in points if query.matches(p.payload)
        )
        for hit in found:
            assert hit.payload["n"] == by_id[hit.id].payload["n"]
            np.testing.assert_allclose(hit.vector, by_id[hit.id].vector, atol=1e-6)
    assert store.scan("entities", Scope.of(user_id="alice")) == []


def test_collections_are_separate(store):
    store.upsert("entities", [point(1, user_id="u")])
    assert store.count("facts") == 0 and store.count("entities") == 1
    with pytest.raises(ValidationError, match="unknown collection"):
        store.count("memories")


def test_use_before_open_is_a_config_error(make_store):
    with pytest.raises(ConfigError, match="open"):
        make_store().count("facts")


def test_reopening_with_another_embedder_or_dim_is_refused(store):
    with pytest.raises(ConfigError) as err:
        store.open(DIM * 2, "other-model")
    for part in (EMBEDDER, str(DIM), "other-model", str(DIM * 2), "prefix"):
        assert part in str(err.value)
    store.open(DIM, EMBEDDER)  # the same settings are fine


def test_reset_forgets_everything_and_open_recreates(store):
    store.upsert("facts", [point(1, user_id="u")])
    store.reset()
    with pytest.raises(ConfigError):
        store.count("facts")
    store.open(DIM * 2, "another-embedder")  # the recorded embedder went with the data
    assert store.count("facts") == 0


# The two embedded, on-disk stores: qdrant-client's local mode and Qdrant Edge.
ON_DISK = {
    "path": lambda where, **kw: QdrantVectorStore(path=where, **kw),
    "edge": lambda where, **kw: EdgeVectorStore(where, **kw),
}
on_disk = pytest.mark.parametrize("kind", sorted(ON_DISK))


@on_disk
def test_prefixes_isolate_stores_sharing_a_backend(tmp_path, kind):
    with ON_DISK[kind](tmp_path / "q") as first:
        first.open(DIM, EMBEDDER)
        first.upsert("facts", [point(1, user_id="u")])
    with ON_DISK[kind](tmp_path / "q", prefix="other") as second:
        second.open(DIM * 2, "other-model")
        assert second.count("facts") == 0


def test_usable_from_other_threads(store):
    store.upsert("facts", [point(i, user_id="u") for i in range(10)])
    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(lambda _: store.count("facts", Scope.of(user_id="u")), range(8)))
    assert counts == [10] * 8


# --- path mode: persistence and the directory lock ---------------------------------------


@on_disk
def test_a_path_store_keeps_its_data_across_reopen(tmp_path, kind):
    points = [point(i, user_id="u") for i in range(3)]
    with ON_DISK[kind](tmp_path / "q") as vectors:
        vectors.open(DIM, EMBEDDER)
        vectors.upsert("facts", points)
    with ON_DISK[kind](tmp_path / "q") as again:
        again.open(DIM, EMBEDDER)
        assert {h.id for h in again.scroll("facts", Scope.of(user_id="u"))} == {
            p.id for p in points
        }
        assert again.search("facts", points[1].vector, Scope.of(user_id="u"))[0].id == points[1].id
    with ON_DISK[kind](tmp_path / "q") as third, pytest.raises(ConfigError) as err:
        third.open(DIM, "all-MiniLM-L6-v2")
    assert EMBEDDER in str(err.value) and "all-MiniLM-L6-v2" in str(err.value)


@on_disk
def test_a_second_store_on_an_open_path_is_refused(tmp_path, kind):
    first = ON_DISK[kind](tmp_path / "q")
    with pytest.raises(BackendUnavailableError, match="in use"):
        ON_DISK[kind](tmp_path / "q")
    first.close()
    ON_DISK[kind](tmp_path / "q").close()  # the lock went with close()


CHILD = """
import sys
from graphmem.errors import BackendUnavailableError
from graphmem.stores.qdrant import QdrantVectorStore
from graphmem.stores.qdrant_edge import EdgeVectorStore
try:
    if sys.argv[2] == "edge":
        EdgeVectorStore(sys.argv[1]).close()
    else:
        QdrantVectorStore(path=sys.argv[1]).close()
except BackendUnavailableError as exc:
    print(exc)
    sys.exit(3)
"""


def child_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }


@on_disk
def test_a_second_process_on_an_open_path_is_refused(tmp_path, kind):
    with ON_DISK[kind](tmp_path / "q"):
        refused = subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path / "q"), kind],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=120,
        )
    assert refused.returncode == 3, refused.stderr
    assert "in use by another process" in refused.stdout


KILLED_WRITER = """
import os, sys, uuid
from graphmem.stores.base import VectorPoint
from graphmem.stores.qdrant_edge import EdgeVectorStore
store = EdgeVectorStore(sys.argv[1])
store.open(8, "test-embedder")
points = [VectorPoint(str(uuid.UUID(int=i + 1)), [1.0] * 7 + [float(i + 1)], {"user_id": "u"})
          for i in range(500)]
store.upsert("facts", points)
os.kill(os.getpid(), 9)  # no close(), no flush: only the write-ahead log has the points
"""


def test_edge_writes_survive_the_process_being_killed(tmp_path):
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "q")],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    with EdgeVectorStore(tmp_path / "q") as again:
        again.open(DIM, EMBEDDER)
        assert again.count("facts", Scope.of(user_id="u")) == 500
        assert again.get("facts", [str(uuid.UUID(int=500))])[0].payload["user_id"] == "u"


# --- configuration and server errors -----------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"location": ":memory:", "url": "http://x:6333"},
        {"location": "http://x:6333"},
        {"location": "data/dir"},
        {"location": ":memory:", "api_key": "k"},
        {"location": ":memory:", "prefix": "a b"},
        {"location": ":memory:", "collections": ["facts", "facts"]},
    ],
)
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        QdrantVectorStore(**kwargs)


def test_an_unreachable_server_names_its_url():
    with socket.socket() as sock:  # a port nobody listens on once the socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with (
        QdrantVectorStore(url=url, timeout=2) as vectors,
        pytest.raises(BackendUnavailableError, match=url),
    ):
        vectors.open(DIM, EMBEDDER)


def test_a_closed_store_says_so(store):
    store.close()
    store.close()
    with pytest.raises(BackendUnavailableError, match="closed"):
        store.count("facts")


def test_the_embedded_default_is_edge_and_a_local_mode_dir_keeps_its_store(tmp_path):
    assert Config(data_dir=tmp_path / "new").vector_store_choice == "edge"
    (tmp_path / "old" / "vectors").mkdir(parents=True)  # written by qdrant-client local mode
    assert Config(data_dir=tmp_path / "old").vector_store_choice == "local"
    assert Config(data_dir=tmp_path / "old", vectors="edge").vector_store_choice == "edge"
    assert Config(qdrant_url="http://qdrant:6333", vectors="edge").vector_store_choice == "server"
    assert Config.from_env({"GRAPHMEM_VECTORS": "local"}).vector_store_choice == "local"
    with pytest.raises(ConfigError, match="vectors='faiss'.*edge, local"):
        Config(vectors="faiss")


def test_edge_payloads_round_trip_and_packed_keys_still_filter(tmp_path):
    """Edge keeps most payload keys packed in one JSON string (see qdrant_edge.py):
    callers get back exactly what they stored, and can still filter on any key."""
    payload = {"text": "Ana likes tea", "metadata": {"topic": "food", "n": 2},
               "source_ids": ["t1", "t2"], "invalid_at": "", "flag": True}  # fmt: skip
    with EdgeVectorStore(tmp_path / "q") as store:
        store.open(DIM, EMBEDDER)
        store.upsert("facts", [point(1, user_id="u", **payload), point(2, user_id="u", n=5)])
        got = store.get("facts", [point(1).id])[0].payload
        assert got == {"created_at": "2026-01-01T00:00:00.000000Z", "user_id": "u",
                       "agent_id": "", "run_id": "", **payload}  # fmt: skip
        scope = Scope.of(user_id="u")
        for filters in ({"source_ids": "t2"}, {"metadata.topic": "food"}, {"flag": True}):
            assert [h.id for h in store.search("facts", unit(2), scope, filters=filters)] == [
                point(1).id
            ]
        assert store.search("facts", unit(2), scope, filters={"flag": 1}) == []
        with pytest.raises(ValidationError, match="_doc"):
            store.upsert("facts", [point(3, user_id="u", _doc="mine")])


def test_empty_values_filter_and_read_back_as_stored(store):
    """Current facts carry invalid_at "" and are found by it; so are unset scope fields."""
    current = point(1, user_id="u", invalid_at="")
    old = point(2, user_id="u", invalid_at="2025-01-01T00:00:00Z")
    other_agent = point(3, user_id="u", agent_id="bot", invalid_at="")
    store.upsert("facts", [current, old, other_agent])
    scope = Scope.of(user_id="u")

    def found(**filters):
        return {h.id for h in store.search("facts", unit(1), scope, limit=10, filters=filters)}

    assert found(invalid_at="") == {current.id, other_agent.id}
    assert found(invalid_at="2025-01-01T00:00:00Z") == {old.id}
    assert found(invalid_at=["", "2025-01-01T00:00:00Z"]) == {current.id, old.id, other_agent.id}
    assert found(agent_id="") == {current.id, old.id}
    assert store.get("facts", [current.id])[0].payload["invalid_at"] == ""
    assert store.scroll("facts", scope, filters={"invalid_at": ""}, limit=10)[0].payload[
        "agent_id"
    ] in ("", "bot")
