"""A graph commit that fails with its outcome unknown leaves no store apart.

Found with a 128 MB Kuzu page cache at 160k memories: COMMIT raised "Buffer manager
exception: Unable to allocate memory" from the checkpoint after the transaction was in
Kuzu's log. The writer undid the vectors and the history, the graph kept the batch, and
the next open refused the data directory (graph 160,000 memories, the others 159,000).
Now the writer keeps the other stores' side and finishes the write from its journal.

The failure is injected into the real Kuzu store's COMMIT, after it ran (the write
applied) or instead of it (not applied, the transaction left open); on the Bolt backend,
into the driver's commit against the real ArcadeDB test server (``IncompleteCommit``).
"""

from __future__ import annotations

import pytest

from graphmem import Memory
from graphmem.errors import QueryError
from graphmem.stores.kuzu import KuzuGraphStore

CRASH = "Buffer manager exception: Unable to allocate memory! The buffer pool is full"


def _failing_commit(monkeypatch, *, applied: bool, times: int = 1) -> list[int]:
    real = KuzuGraphStore._execute
    failed: list[int] = []

    def execute(self, name, text, params, **kwargs):
        if name == "commit" and len(failed) < times:
            failed.append(1)
            if applied:
                real(self, name, text, params, **kwargs)
            raise QueryError(f"commit: {CRASH}", query_name="commit")
        return real(self, name, text, params, **kwargs)

    monkeypatch.setattr(KuzuGraphStore, "_execute", execute)
    return failed


def _open(path) -> Memory:
    return Memory.open(path, embedder="hash", extractor="offline", track_access=False)


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
@pytest.mark.parametrize("how", ["add_many", "add", "delete"])
def test_an_uncertain_graph_commit_finishes_the_write_in_every_store(
    tmp_path, monkeypatch, applied, how
):
    with _open(tmp_path / "d") as m:
        kept = m.add("Alice works at Acme in Lyon.", user_id="u").facts
        failed = _failing_commit(monkeypatch, applied=applied)
        if how == "add_many":
            texts = [f"Bob {n} paints boats in Rome." for n in range(30)]
            m.add_many([{"text": t} for t in texts], user_id="u")
            expected = {"Alice works at Acme in Lyon.", *texts}
        elif how == "add":
            m.add("Carol sails to Oslo every June.", user_id="u")
            expected = {"Alice works at Acme in Lyon.", "Carol sails to Oslo every June."}
        else:
            m.delete(kept[0].id, user_id="u")
            expected = set()
        assert failed, "the injected failure never ran"
        monkeypatch.undo()
        assert m.verify().ok
        assert {f.text for f in m.get_all(user_id="u", limit=100)} == expected
    with _open(tmp_path / "d") as m:  # the next open finds the stores agreeing
        assert m.verify().ok and m.recovered == 0
        assert {f.text for f in m.get_all(user_id="u", limit=100)} == expected


def test_when_finishing_fails_too_the_write_is_journaled_and_the_next_open_ends_it(
    tmp_path, monkeypatch
):
    with _open(tmp_path / "d") as m:
        m.add("Alice works at Acme in Lyon.", user_id="u")
        _failing_commit(monkeypatch, applied=False, times=2)  # and the roll forward's
        with pytest.raises(QueryError, match="next opened") as caught:
            m.add("Carol sails to Oslo every June.", user_id="u")
        assert CRASH in str(caught.value) or any(CRASH in n for n in caught.value.__notes__)
        monkeypatch.undo()
    with _open(tmp_path / "d") as m:
        assert m.recovered == 1 and m.verify().ok
        assert {f.text for f in m.get_all(user_id="u", limit=100)} == {
            "Alice works at Acme in Lyon.",
            "Carol sails to Oslo every June.",
        }


class _FullPool:
    """Kuzu's connection, but its next statement fails as a full page cache does."""

    def __init__(self, conn):
        self.conn, self.armed = conn, True

    def execute(self, *args, **kwargs):
        if self.armed:
            self.armed = False
            raise RuntimeError(f"{CRASH} and no memory could be freed!")
        return self.conn.execute(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_full_kuzu_page_cache_says_which_setting_to_raise_and_to_run_doctor(tmp_path):
    with _open(tmp_path / "d") as m:
        m.add("Alice works at Acme in Lyon.", user_id="u")
        kuzu_store = m.graph_store.inner
        kuzu_store._conn = _FullPool(kuzu_store._conn)
        with pytest.raises(QueryError) as caught:
            m.add("Carol sails to Oslo every June.", user_id="u")
        said = str(caught.value)
        assert "graph_buffer_pool_mb=" in said and "GRAPHMEM_GRAPH_BUFFER_POOL_MB" in said
        assert "graphmem doctor" in said
        kuzu_store._conn = kuzu_store._conn.conn
        assert m.verify().ok  # the failed write left nothing behind
        assert [f.text for f in m.get_all(user_id="u")] == ["Alice works at Acme in Lyon."]


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
def test_a_bolt_commit_cut_off_midway_finishes_the_write_in_every_store(
    bolt_server, tmp_path, monkeypatch, applied
):
    """The Neo4j driver's ``IncompleteCommit``: the connection went during COMMIT."""
    import neo4j

    options = {"neo4j_uri": bolt_server.uri, "neo4j_user": bolt_server.user,
               "neo4j_password": bolt_server.password,
               "neo4j_database": bolt_server.database}  # fmt: skip
    real, cut = neo4j.Transaction.commit, []

    def commit(self):
        if not cut:
            cut.append(1)
            if applied:
                real(self)
            else:
                self.rollback()
            raise neo4j.exceptions.IncompleteCommit("connection lost during commit")
        return real(self)

    with Memory.open(tmp_path / "d", embedder="hash", graph="neo4j", track_access=False,
                     **options) as m:  # fmt: skip
        m.graph_store.reset()
        m.add("Alice works at Acme in Lyon.", user_id="u")
        monkeypatch.setattr(neo4j.Transaction, "commit", commit)
        m.add("Carol sails to Oslo every June.", user_id="u")
        assert cut
        monkeypatch.undo()
        assert m.verify().ok
        assert {f.text for f in m.get_all(user_id="u")} == {
            "Alice works at Acme in Lyon.",
            "Carol sails to Oslo every June.",
        }
        m.graph_store.reset()
