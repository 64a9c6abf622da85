"""One ``Memory`` shared by threads: reads never run inside a write (graphmem/locks.py).

Before the lock, a search running beside an ``add`` read the in-process indexes while the
add grew them: ``IndexError: boolean index did not match`` in the vector channel, and once
in a few minutes an abort of the whole process (``double free or corruption``).
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest

from graphmem import Memory
from graphmem.locks import ReadWriteLock

WAIT = 10.0  # seconds a step may take before the test gives up on it (never reached)


def test_a_search_waits_for_the_add_in_progress_and_then_sees_it(tmp_path):
    entered, release = threading.Event(), threading.Event()
    calls = {"n": 0}

    def clock() -> datetime:
        # The writer's second reading of the clock is made inside the write (memory._write):
        # it stands still there until the test lets it go, as a slow store would.
        if threading.current_thread().name == "writer":
            calls["n"] += 1
            if calls["n"] == 2:
                entered.set()
                release.wait(WAIT)
        return datetime.now(UTC)

    memory = Memory.open(tmp_path / "data", embedder="hash", clock=clock)
    try:
        memory.add("Carol plays the cello.", user_id="u")
        writer = threading.Thread(
            target=lambda: memory.add("Dave plays the oboe.", user_id="u"), name="writer"
        )
        writer.start()
        assert entered.wait(WAIT)
        found: list = []
        reader = threading.Thread(
            target=lambda: found.append(memory.search("oboe", user_id="u", recipe="keyword"))
        )
        reader.start()
        reader.join(0.5)
        assert reader.is_alive(), "the search ran while the add was half done"
        release.set()
        writer.join(WAIT)
        reader.join(WAIT)
        assert [h.text for h in found[0]][:1] == ["Dave plays the oboe."]
    finally:
        release.set()
        memory.close()


def test_writers_and_searchers_on_one_memory_leave_it_whole(tmp_path):
    memory = Memory.open(tmp_path / "data", embedder="hash")
    words = "alice bob carol paris berlin coffee tea cello oboe garden".split()
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def write(k: int) -> None:
        rng = random.Random(k)
        try:
            mine = []
            for i in range(40):
                text = f"{rng.choice(words).title()} likes {rng.choice(words)} ({k}-{i})."
                mine += [f.id for f in memory.add(text, user_id="u", infer=False).facts]
                if i % 4 == 3:
                    memory.delete(mine.pop(0), user_id="u")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def read(k: int) -> None:
        rng = random.Random(100 + k)
        try:
            while writing.is_set():
                for recipe in ("hybrid", "vector", "keyword", "hybrid_ppr"):
                    query = f"{rng.choice(words)} {rng.choice(words)}"
                    memory.search(query, user_id="u", recipe=recipe)
                memory.get_all(user_id="u", limit=20)
                memory.stats(user_id="u")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(k,)) for k in range(2)]
    readers = [threading.Thread(target=read, args=(k,)) for k in range(2)]
    try:
        for t in writers + readers:
            t.start()
        for t in writers:
            t.join()
        writing.clear()
        for t in readers:
            t.join()
        assert errors == []
        assert memory.verify().ok
        assert len(memory.get_all(user_id="u", limit=1000)) == 2 * 40 - 2 * 10
    finally:
        writing.clear()
        memory.close()


def test_the_lock_is_reentrant_and_refuses_to_upgrade_a_read():
    lock = ReadWriteLock()
    with lock.writing, lock.writing, lock.reading:  # a write may read and write again
        pass
    with lock.reading, lock.reading, pytest.raises(RuntimeError, match="finish the read first"):
        lock.writing.__enter__()
    with lock.writing:  # nothing was left held
        pass


def test_a_waiting_writer_goes_before_new_readers_but_not_before_a_nested_read():
    lock = ReadWriteLock()
    order: list[str] = []
    inside, go = threading.Event(), threading.Event()

    def first_reader() -> None:
        with lock.reading:
            inside.set()
            go.wait(WAIT)
            with lock.reading:  # nested: must not wait behind the writer (no deadlock)
                order.append("nested read")

    def writer() -> None:
        with lock.writing:
            order.append("write")

    def late_reader() -> None:
        with lock.reading:
            order.append("late read")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    assert inside.wait(WAIT)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    while not lock._writers_waiting:  # the writer is queued
        threading.Event().wait(0.01)
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    go.set()
    for t in threads:
        t.join(WAIT)
    assert order == ["nested read", "write", "late read"]


def test_readers_waiting_when_a_write_ends_go_before_the_next_write():
    """A writer that writes in chunks (access tracking's flush) lets a waiting search in
    between two chunks, instead of taking the lock back before the search wakes."""
    lock = ReadWriteLock()
    order: list[str] = []
    first_held, queued = threading.Event(), threading.Event()

    def writer() -> None:
        for chunk in range(5):
            with lock.writing:
                order.append(f"write {chunk}")
                if chunk == 0:
                    first_held.set()
                    assert queued.wait(WAIT)
                    while not lock._cond._waiters:  # the reader waits behind this write
                        threading.Event().wait(0.01)

    def reader() -> None:
        assert first_held.wait(WAIT)
        queued.set()
        with lock.reading:
            order.append("read")

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert order == ["write 0", "read", "write 1", "write 2", "write 3", "write 4"]
