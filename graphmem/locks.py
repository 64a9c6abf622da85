"""One ``Memory``'s reads and writes, coordinated: many readers or one writer.

Why: search reads the in-process indexes (``index/scope.py``: a vector matrix, BM25
postings, groups, neighbours) and the graph index while a write on another thread
changes them. Python's lock on objects does not make those reads consistent: a search
that sized the matrix before an ``add`` grew it failed (``IndexError: boolean index did
not match``), and numpy copying through a mask that another thread was setting ran past
its buffer and aborted the process (``double free or corruption``), 2 runs in 6 of two
writers and two searchers on one ``Memory`` for 150 s. ``AsyncMemory`` and the server
already kept reads off writes (``aio.Lanes``); a program sharing a ``Memory`` between
threads did not.

The lock is reentrant on both sides per thread: a write may read (``delete`` looks the
memory up) and call another write (``maintain`` promotes by ``add``). A thread that
holds only a read and asks to write is a bug that would wait forever on itself, so it
raises ``RuntimeError`` instead. A writer waiting stops new readers from entering, so a
steady stream of searches cannot starve an ``add``.

The other way round too: the readers waiting when a write ends go in before the next
writer. Access tracking (``lifecycle/access.py``) writes in chunks so searches get in
between, but a writer releasing and asking again barged ahead of the woken readers: on
musique-dev a search waited for a whole flush, 2.3 s against a p50 of 70 ms.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ReadWriteLock:
    """Many readers or one writer, reentrant per thread on both sides."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0  # threads holding a read
        self._writer: int | None = None  # the thread holding the write
        self._write_depth = 0
        self._writers_waiting = 0
        self._waiting: set[object] = set()  # readers waiting to enter, one token each
        self._let_in: set[object] = set()  # those waiting when the last write ended
        self._local = threading.local()  # this thread's read depth
        self.reading = _Side(self._acquire_read, self._release_read)
        self.writing = _Side(self._acquire_write, self._release_write)

    def _acquire_read(self) -> None:
        me = threading.get_ident()
        if self._writer == me:
            return  # reading inside our own write: already exclusive
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                token = object()
                self._waiting.add(token)
                try:
                    while self._writer is not None or (
                        self._writers_waiting and token not in self._let_in
                    ):
                        self._cond.wait()
                finally:
                    self._waiting.discard(token)
                    if token in self._let_in:
                        self._let_in.discard(token)
                        if not self._let_in:  # a writer may be waiting for the last of them
                            self._cond.notify_all()
                self._readers += 1
        self._local.depth = depth + 1

    def _release_read(self) -> None:
        if self._writer == threading.get_ident():
            return
        self._local.depth -= 1
        if self._local.depth == 0:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    def _acquire_write(self) -> None:
        me = threading.get_ident()
        if self._writer == me:
            self._write_depth += 1
            return
        if getattr(self._local, "depth", 0):
            raise RuntimeError("a thread reading a Memory asked to write to it: "
                               "finish the read first")  # fmt: skip
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers or self._let_in:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer, self._write_depth = me, 1

    def _release_write(self) -> None:
        self._write_depth -= 1
        if self._write_depth == 0:
            with self._cond:
                self._writer = None
                self._let_in = set(self._waiting)  # their turn before the next writer's
                self._cond.notify_all()

    def run_read(self, fn: Callable[[], T]) -> T:
        with self.reading:
            return fn()

    def run_write(self, fn: Callable[[], T]) -> T:
        with self.writing:
            return fn()


class _Side:
    """``with lock.reading:`` / ``with lock.writing:``."""

    def __init__(self, acquire: Callable[[], None], release: Callable[[], None]) -> None:
        self._acquire, self._release = acquire, release

    def __enter__(self) -> None:
        self._acquire()

    def __exit__(self, *exc: object) -> None:
        self._release()


def reads(method: Callable[..., T]) -> Callable[..., T]:
    """Run a method of an object with a ``_reading`` side (``Memory``, ``Relations``) as
    a read: alongside other reads, never during a write."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> T:
        with self._reading:
            return method(self, *args, **kwargs)

    return guarded
