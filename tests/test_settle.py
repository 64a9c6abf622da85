"""``Memory.settle()``: after a bulk load, hand back what the writes filled and reads do
not need (Kuzu's page cache, Qdrant Edge's loaded shards), and lose nothing.

Real Kuzu, real Qdrant Edge, real SQLite throughout. What a user notices is checked:
the same answers before and after, writes after it land, counts after a reopen are
true, and searches running beside it never fail.
"""

from __future__ import annotations

import threading
import time

import pytest

from graphmem import Config, Memory
from graphmem.errors import BackendUnavailableError, ConfigError
from graphmem.maintenance.settle import release_caches, release_or_warn
from graphmem.stores.base import FACTS
from graphmem.stores.kuzu import KuzuGraphStore

CITIES = ["Lyon", "Porto", "Ghent", "Turin", "Graz", "Cork"]
FIRST = "Ada Ben Cara Dan Eva Finn Gina Hugo Ida Jon".split()
LAST = ("Keller Ortiz Novak Brandt Silva Moreau Larsen Quinn Rossi Haas Duarte Weber Petrov "
        "Okafor Tanaka Varga Fischer Costa Berg Marsh Holm Kovacs Laine Mendes Strand").split()  # fmt: skip


def person(n: int) -> str:
    return f"{FIRST[n % len(FIRST)]} {LAST[n // len(FIRST)]}"


def items(first: int, count: int) -> list[dict]:
    return [{"text": f"{person(n)} moved to {CITIES[n % len(CITIES)]} with a dog named Rex{n}."}
            for n in range(first, first + count)]  # fmt: skip


def answers(memory: Memory, user: str) -> list[list[str]]:
    return [[h.text for h in memory.search(f"Who lives in {city}?", user_id=user, limit=5)]
            for city in CITIES[:3]]  # fmt: skip


def kuzu_of(memory: Memory) -> KuzuGraphStore:
    store = memory.graph_store
    return getattr(store, "inner", store)


def open_memory(where, **settings) -> Memory:
    return Memory.open(where, **settings)


def test_a_settled_memory_answers_as_before_and_takes_writes(tmp_path):
    with open_memory(tmp_path, settle_after_writes=0) as m:
        m.add_many(items(0, 60), user_id="a")
        m.add_many(items(100, 40), user_id="b")
        before = answers(m, "a")
        db = kuzu_of(m)._db
        assert m.settle() == {"graph": True, "vectors": True}
        assert kuzu_of(m)._db is not db  # the database was opened again
        assert answers(m, "a") == before
        assert m.stats(user_id="b")["memories"] == 40
        m.add_many(items(200, 5), user_id="a")
        found = m.search("Who has a dog named Rex203?", user_id="a", limit=3)
        assert "Rex203" in found[0].text
        near = {n.entity.name for n in m.graph.neighbours(person(203), user_id="a")}
        assert CITIES[203 % len(CITIES)] in near  # the graph took the write too
        assert m.settle() == {"graph": True, "vectors": True}  # twice in a row is fine
    with open_memory(tmp_path) as again:  # counts saved by the close are the true ones
        assert again.stats(user_id="a")["memories"] == 65
        assert again.stats(user_id="b")["memories"] == 40
        assert again.verify().total == 0
        assert answers(again, "b") == answers(again, "b")


def test_what_a_reopen_counts_after_a_settle_is_true(tmp_path):
    """A settled shard is counted as it closes: the next open reads the count saved at
    the close for a shard it has not loaded, and a stale one would be believed."""
    with open_memory(tmp_path, settle_after_writes=0) as m:
        m.add_many(items(0, 20), user_id="a")
    with open_memory(tmp_path, settle_after_writes=0) as m:  # counts trusted from the file
        m.add_many(items(20, 10), user_id="a")
        m.settle()  # the facts shard closed after its writes, not loaded again
    with open_memory(tmp_path) as m:
        assert m.vectors.count(FACTS) == 30
        assert m.stats(user_id="a")["memories"] == 30


def test_the_first_search_after_enough_writes_settles_and_no_earlier(tmp_path):
    with open_memory(tmp_path, settle_after_writes=50) as m:
        m.add_many(items(0, 30), user_id="a")
        db = kuzu_of(m)._db
        m.search("Who lives in Lyon?", user_id="a")
        assert kuzu_of(m)._db is db  # 30 written: not yet
        m.add_many(items(30, 30), user_id="a")
        assert kuzu_of(m)._db is db  # writes never settle: only a search after them
        hits = m.search("Who lives in Porto?", user_id="a")
        assert kuzu_of(m)._db is not db and hits
        settled = kuzu_of(m)._db
        m.search("Who lives in Ghent?", user_id="a")
        assert kuzu_of(m)._db is settled  # the count started again
    with open_memory(tmp_path, settle_after_writes=0) as off:  # 0: never
        off.add_many(items(60, 60), user_id="a")
        db = kuzu_of(off)._db
        assert off.search("Who lives in Lyon?", user_id="a") and kuzu_of(off)._db is db
        assert off.stats(user_id="a")["memories"] == 120


def test_searches_beside_a_settle_never_fail(tmp_path):
    with open_memory(tmp_path, settle_after_writes=0) as m:
        m.add_many(items(0, 80), user_id="a")
        want = answers(m, "a")
        errors: list[BaseException] = []
        seen: list[list[list[str]]] = []
        stop = threading.Event()

        def reader() -> None:
            try:
                while not stop.is_set():
                    seen.append(answers(m, "a"))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for _ in range(4):
                m.settle()
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert not errors
        assert seen and all(got == want for got in seen)


def test_searches_that_find_it_due_together_settle_once(tmp_path):
    """Four searches find a settle due while a write holds the lock: once it is let go,
    one of them settles and the others search (each settling in turn cost ~7 s at 1M)."""
    with open_memory(tmp_path, settle_after_writes=20) as m:
        m.add_many(items(0, 30), user_id="a")
        db = kuzu_of(m)._db
        seen: list[object] = []

        def search() -> None:
            m.search("Who lives in Lyon?", user_id="a")
            seen.append(kuzu_of(m)._db)

        threads = [threading.Thread(target=search) for _ in range(4)]
        with m._writing:  # as a write in flight would: every search waits behind it
            for t in threads:
                t.start()
            time.sleep(0.5)  # sequencing only: let them all reach the lock
        for t in threads:
            t.join()
        assert len(seen) == 4 and len({id(d) for d in seen}) == 1  # one new database
        assert seen[0] is not db


def test_a_settle_that_fails_inside_a_search_is_logged_and_the_search_answers(caplog):
    """What a search does when it finds a settle due (maintenance/settle.py): a store
    that cannot hand back its caches is named in a warning, the rest still do."""

    class Refusing:
        def release_caches(self) -> bool:
            raise BackendUnavailableError("the graph went away")

    class Willing:
        released = False

        def release_caches(self) -> bool:
            self.released = True
            return True

    willing = Willing()
    with caplog.at_level("WARNING", logger="graphmem.maintenance.settle"):
        release_or_warn({"graph": Refusing(), "vectors": willing})
    assert willing.released
    assert "graph store" in caplog.text and "the graph went away" in caplog.text
    with pytest.raises(BackendUnavailableError):  # asked for, it raises
        release_caches({"graph": Refusing()})


def test_a_graph_server_is_left_alone_and_edge_still_settles(bolt_server, tmp_path):
    options = {"neo4j_uri": bolt_server.uri, "neo4j_user": bolt_server.user,
               "neo4j_password": bolt_server.password,
               "neo4j_database": bolt_server.database}  # fmt: skip
    with Memory.open(tmp_path, graph="neo4j", settle_after_writes=0, **options) as m:
        m.graph_store.reset()
        m.add_many(items(0, 20), user_id="a")
        before = answers(m, "a")
        assert m.settle() == {"graph": False, "vectors": True}
        assert answers(m, "a") == before
        near = {n.entity.name for n in m.graph.neighbours(person(3), user_id="a")}
        assert CITIES[3] in near


def test_a_graph_that_cannot_open_again_says_so_and_loses_nothing(tmp_path, monkeypatch):
    """Kuzu refusing the reopen (another process took the file's lock meanwhile, say):
    the settle names the graph and what to do, a later write says the graph is closed
    rather than fail oddly, and a fresh open finds every memory written before, and
    nothing of the refused write."""
    import kuzu

    with open_memory(tmp_path, settle_after_writes=0) as m:
        m.add_many(items(0, 30), user_id="a")
        before = answers(m, "a")

        def refuse(*args, **kwargs):
            raise RuntimeError("IO exception: Could not set lock on file")

        monkeypatch.setattr(kuzu, "Database", refuse)
        with pytest.raises(BackendUnavailableError, match="open the Memory again") as caught:
            m.settle()
        assert "could not be opened again" in str(caught.value)
        monkeypatch.undo()
        # Reads the held copies answer still do; a write is refused before anything lands.
        assert answers(m, "a") == before
        with pytest.raises(BackendUnavailableError, match="closed"):
            m.add("Zoe Marsh moved to Graz.", user_id="a")
    with open_memory(tmp_path) as m:
        assert answers(m, "a") == before
        assert len(m.get_all(user_id="a", limit=100)) == 30  # not the refused write
        assert CITIES[3] in {n.entity.name for n in m.graph.neighbours(person(3), user_id="a")}
        assert m.verify().ok


def test_qdrant_client_vectors_are_left_alone_and_the_graph_settles(tmp_path):
    """qdrant-client's local mode (or a server) has no caches of ours to hand back."""
    with open_memory(tmp_path, vectors="local", settle_after_writes=0) as m:
        m.add_many(items(0, 20), user_id="a")
        before = answers(m, "a")
        assert m.settle() == {"graph": True, "vectors": False}
        assert answers(m, "a") == before
        m.add("Zoe Marsh moved to Graz.", user_id="a")
        assert "Zoe Marsh moved to Graz." in [h.text for h in m.search("Zoe", user_id="a")]


def test_an_in_memory_graph_is_left_alone():
    store = KuzuGraphStore(None)
    try:
        assert store.release_caches() is False  # closing it would lose it
        assert store.run("ping", {}) is not None
    finally:
        store.close()


def test_a_bad_setting_is_refused_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="settle_after_writes"):
        Config(data_dir=tmp_path, settle_after_writes=-1)
    assert Config.from_env({"GRAPHMEM_SETTLE_AFTER_WRITES": "0"}).settle_after_writes == 0
