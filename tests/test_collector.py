"""Bulk loads and ingest pause Python's cycle collector, and always hand it back."""

from __future__ import annotations

import gc

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


def test_searches_on_many_threads_leave_the_collector_as_the_program_set_it(tmp_path):
    """Search pauses the collector (memory.py): overlapping pauses on threads must end
    with it on, and a program that turned it off keeps it off."""
    from concurrent.futures import ThreadPoolExecutor

    with Memory.open(tmp_path, embedder="hash", track_access=False) as m:
        m.add_many([{"text": f"Person{i} lives in Oslo and works at Acme."} for i in range(40)],
                   user_id="u")  # fmt: skip
        expected = [h.memory_id for h in m.search("who works at Acme", user_id="u")]
        with ThreadPoolExecutor(4) as pool:
            found = list(pool.map(lambda _: [h.memory_id for h in m.search(
                "who works at Acme", user_id="u")], range(40)))  # fmt: skip
        assert found == [expected] * 40 and expected
        assert gc.isenabled()
        gc.disable()
        try:
            assert m.search("who works at Acme", user_id="u")
            assert not gc.isenabled()
        finally:
            gc.enable()
