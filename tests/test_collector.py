"""Bulk loads and ingest pause Python's cycle collector, and always hand it back."""

from __future__ import annotations

import gc
import weakref

import pytest

from graphmem import Memory
from graphmem.collector import collector_paused


def test_the_collector_is_back_on_after_the_block_even_when_it_raises():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="midway"), collector_paused():
        raise RuntimeError("a load failed midway")
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_reopening_a_data_dir_loads_its_saved_indexes_and_leaves_the_collector_on(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": f"Person{i} lives in Oslo and works at Acme."} for i in range(40)],
                   user_id="u")  # fmt: skip
        m.search("who lives in Oslo", user_id="u")
    with Memory.open(tmp_path, embedder="hash") as m:
        hits = m.search("who lives in Oslo", user_id="u")
        assert hits and m.snapshots.loaded >= 1  # the saved indexes, not a rebuild
        assert gc.isenabled()


def test_freezing_after_loads_is_off_unless_asked_and_changes_no_result(tmp_path):
    """``freeze_after_loads`` (what ``graphmem serve`` turns on): the loaded indexes leave
    the collector's walks, and search finds exactly what it found before."""
    from graphmem.collector import freeze_after_loads

    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": f"Person{i} lives in Oslo and works at Acme."} for i in range(40)],
                   user_id="u")  # fmt: skip
        m.search("who lives in Oslo", user_id="u")
    gc.unfreeze()
    found = {}
    try:
        for frozen in (False, True):
            freeze_after_loads(frozen)
            with Memory.open(tmp_path, embedder="hash", track_access=False) as m:
                hits = m.search("who lives in Oslo", user_id="u")
                found[frozen] = [(h.memory_id, h.score) for h in hits]
                # Off: nothing frozen. On: the indexes the search loaded are.
                assert (gc.get_freeze_count() > 0) is frozen
            gc.unfreeze()
    finally:
        freeze_after_loads(False)
        gc.unfreeze()
    assert found[True] == found[False] and found[True]


def test_frozen_indexes_are_still_freed_when_dropped(tmp_path):
    """A frozen object in a reference cycle is never collected: an index evicted or
    dropped must be freed by reference counting alone, or a server leaks one per scope."""
    from graphmem.collector import freeze_after_loads

    with Memory.open(tmp_path, embedder="hash") as m:
        for user in ("a", "b"):
            m.add_many([{"text": f"Person{i} lives in Oslo and works at Acme."}
                        for i in range(40)], user_id=user)  # fmt: skip
            m.search("who lives in Oslo", user_id=user)
    freeze_after_loads(True)
    try:
        with Memory.open(tmp_path, embedder="hash", track_access=False,
                         index_max_scopes=1) as m:  # fmt: skip
            m.search("who lives in Oslo", user_id="a")
            assert gc.get_freeze_count() > 0
            held = [weakref.ref(i) for i in m.vectors._indexes.values()]
            graph = weakref.ref(m.graph_store.index())
            m.search("who lives in Oslo", user_id="b")  # holds one scope: a's goes
            m.delete_all(user_id="b")  # a deletion drops the graph copy
            assert held and all(ref() is None for ref in held)
            assert graph() is None
    finally:
        freeze_after_loads(False)
        gc.unfreeze()
