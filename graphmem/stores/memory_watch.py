"""Stop an embedded engine's statement that grows this process past a budget.

A user's Cypher without a scope runs on the embedded graph inside the caller's process
(a server's, say). Kuzu 0.11.3 keeps most of a statement's working memory in its buffer
pool, which refuses to grow past ``graph_buffer_pool_mb``, but not all of it: building a
list per row (``range(x, 300000000)`` with ``x`` from a row) took 4.3 GB of heap before it
was interrupted, measured. ``MemoryWatch`` reads the process's resident size every 10 ms
while the statement runs and calls the engine's interrupt once it has grown by more than
the budget; the store then reports a ``QueryError`` naming the limit.

It cannot stop what the engine does while it plans (values of constant calls, checked
before: ``cypher_budget.py``), nor the conversion of a finished result to Python objects.
On a system without ``/proc`` it watches nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType

_STATM = "/proc/self/statm"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_EVERY_S = 0.01


def resident_bytes() -> int | None:
    try:
        with open(_STATM, "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class MemoryWatch:
    """``with MemoryWatch(budget_mb, interrupt) as watch: ...``; then ``watch.fired``.

    ``interrupt`` is called at most once, and never after the ``with`` block has ended:
    the engine's next statement (a commit) must not be interrupted by a late look.
    """

    def __init__(self, budget_mb: int | None, interrupt: Callable[[], None]) -> None:
        self.budget = None if budget_mb is None else budget_mb * 2**20
        self.interrupt = interrupt
        self.fired = False
        self._active = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MemoryWatch:
        start = resident_bytes()
        if self.budget is None or start is None:
            return self
        self._active = True
        self._thread = threading.Thread(target=self._watch, args=(start + self.budget,),
                                        name="graphmem-cypher-memory", daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def _watch(self, ceiling: int) -> None:
        while not self._done.wait(_EVERY_S):
            now = resident_bytes()
            if now is not None and now > ceiling:
                with self._lock:
                    if self._active:
                        self.fired = True
                        self._active = False
                        self.interrupt()
                return

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        with self._lock:
            self._active = False
        self._done.set()
        if self._thread is not None:
            self._thread.join()
