"""Conformance tests for HistoryStore backends (one entry per backend in ``BACKENDS``)."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from graphmem.errors import BackendUnavailableError, ConfigError, ValidationError
from graphmem.models import HistoryEvent, Scope
from graphmem.stores.base import HistoryStore
from graphmem.stores.sqlite_history import SQLiteHistoryStore

BACKENDS = {
    "memory": lambda tmp_path: SQLiteHistoryStore(":memory:"),
    "path": lambda tmp_path: SQLiteHistoryStore(tmp_path / "data" / "history.db"),
}

ALICE = Scope.of(user_id="alice", agent_id="support")
BOB = Scope.of(user_id="bob", agent_id="support")
ALICE_SALES = Scope.of(user_id="alice", agent_id="sales", run_id="r1")


@pytest.fixture(params=sorted(BACKENDS))
def history(request, tmp_path):
    store = BACKENDS[request.param](tmp_path)
    yield store
    store.close()


def ev(target: str, scope: Scope = ALICE, event: str = "ADD", **kw) -> HistoryEvent:
    return HistoryEvent(event=event, target_id=target, scope=scope, **kw)


def test_implements_the_protocol(history):
    assert isinstance(history, HistoryStore)


def test_record_fills_ids_and_times_and_keeps_every_field(history):
    given = ev(
        "m1",
        ALICE_SALES,
        "UPDATE",
        target_kind="relation",
        old_value="a",
        new_value=None,
        actor="agent",
        role="assistant",
        details={"why": ["x", 1]},
    )
    recorded = history.record([given, ev("m2")])
    assert [r.id for r in recorded] == sorted({r.id for r in recorded})
    assert all(r.created_at.endswith("Z") for r in recorded)
    assert given.id is None  # the caller's objects are not mutated
    assert history.for_target("m1") == [recorded[0]]
    stored = history.for_target("m1")[0]
    assert (stored.scope, stored.target_kind, stored.old_value, stored.new_value) == (
        ALICE_SALES,
        "relation",
        "a",
        None,
    )
    assert stored.details == {"why": ["x", 1]} and stored.role == "assistant"


def test_a_given_created_at_is_kept(history):
    [stored] = history.record([ev("m1", created_at="2020-05-01T00:00:00.000000Z")])
    assert stored.created_at == "2020-05-01T00:00:00.000000Z"


def test_for_target_is_oldest_first_and_only_that_target(history):
    history.record([ev("m1", event="ADD"), ev("m2")])
    history.record([ev("m1", event="UPDATE")])
    history.record([ev("m1", event="DELETE")])
    assert [e.event for e in history.for_target("m1")] == ["ADD", "UPDATE", "DELETE"]
    assert history.for_target("missing") == []


def test_events_see_exactly_the_matching_scope(history):
    history.record([ev("a1", ALICE), ev("b1", BOB), ev("a2", ALICE_SALES)])
    targets = lambda scope: {e.target_id for e in history.events(scope)}  # noqa: E731
    assert targets(Scope.of(user_id="alice")) == {"a1", "a2"}
    assert targets(Scope.of(user_id="bob")) == {"b1"}
    assert targets(Scope.of(agent_id="support")) == {"a1", "b1"}
    assert targets(Scope.of(user_id="alice", run_id="r1")) == {"a2"}
    assert targets(Scope.of(user_id="carol")) == set()
    assert targets(None) == {"a1", "b1", "a2"}


def test_events_limit_keeps_the_newest_oldest_first(history):
    history.record([ev(f"m{i}") for i in range(5)])
    assert [e.target_id for e in history.events(ALICE, limit=2)] == ["m3", "m4"]
    with pytest.raises(ValidationError):
        history.events(ALICE, limit=0)


def test_bad_events_write_nothing(history):
    with pytest.raises(ValidationError, match="details"):
        history.record([ev("ok"), ev("bad", details={"x": object()})])
    with pytest.raises(ValidationError, match="target_id"):
        history.record([ev("ok"), ev("")])
    assert history.events() == []


def test_delete_ids_removes_only_those(history):
    first, second, third = history.record([ev("m1"), ev("m1", event="UPDATE"), ev("m2")])
    history.delete_ids([second.id, third.id, 9999])
    history.delete_ids([])
    assert history.events() == [first]
    # ids keep growing after a delete: a later event never reuses an undone one's id
    [later] = history.record([ev("m3")])
    assert later.id > third.id


def test_reset_empties_the_log(history):
    history.record([ev("m1")])
    history.reset()
    assert history.events() == [] and history.for_target("m1") == []


def test_concurrent_records_get_distinct_ids(history):
    with ThreadPoolExecutor(max_workers=4) as pool:
        batches = list(pool.map(lambda i: history.record([ev(f"t{i}"), ev(f"t{i}")]), range(20)))
    ids = [e.id for batch in batches for e in batch]
    assert len(set(ids)) == 40 and len(history.events()) == 40


def test_a_closed_store_says_so(history):
    history.close()
    history.close()
    with pytest.raises(BackendUnavailableError, match="closed"):
        history.events()


def test_the_log_survives_reopening(tmp_path):
    path = tmp_path / "history.db"
    with SQLiteHistoryStore(path) as first:
        recorded = first.record([ev("m1"), ev("m1", event="UPDATE", details={"n": 1})])
    with SQLiteHistoryStore(path) as again:
        assert again.for_target("m1") == recorded
        assert again.record([ev("m2")])[0].id > recorded[-1].id


def test_the_file_is_in_wal_mode(tmp_path):
    SQLiteHistoryStore(tmp_path / "h.db").close()
    with sqlite3.connect(tmp_path / "h.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="history database"):
        SQLiteHistoryStore(path)


def test_a_batch_gets_the_ids_and_times_events_reads_back(history, tmp_path):
    # Delete the newest rows first, so the id sequence runs ahead of the largest stored id.
    *_, newest = history.record([ev(f"old{i}") for i in range(5)])
    history.delete_ids([newest.id])
    batch = [ev(f"m{i}", event="UPDATE" if i % 3 else "ADD") for i in range(300)]
    batch[7] = ev("m7", created_at="2020-05-01T00:00:00.000000Z", details={"k": [1, "é"]})
    recorded = history.record(batch)
    assert recorded[0].id == newest.id + 1
    assert history.events(limit=300) == recorded
    assert [(r.target_id, r.event) for r in recorded] == [(b.target_id, b.event) for b in batch]
    assert recorded[7].created_at == "2020-05-01T00:00:00.000000Z"
    assert all(b.id is None and b.created_at in ("", recorded[7].created_at) for b in batch)


def test_two_stores_on_one_file_interleave_batches_with_the_right_ids(tmp_path):
    path = tmp_path / "history.db"
    with SQLiteHistoryStore(path) as one, SQLiteHistoryStore(path) as two:
        recorded = []
        for i in range(6):
            store = one if i % 2 else two
            recorded += store.record([ev(f"s{i}-{j}") for j in range(i + 1)])
        assert one.events() == recorded == two.events()


def test_a_field_of_the_wrong_type_names_the_field_and_writes_nothing(history):
    for field_name, value in [
        ("target_kind", 1),
        ("old_value", b"x"),
        ("new_value", 2),
        ("actor", None),
        ("role", 3),
        ("created_at", None),
    ]:
        with pytest.raises(ValidationError, match=field_name):
            history.record([ev("ok"), ev("bad", **{field_name: value})])
    assert history.events() == []
