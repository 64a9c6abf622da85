"""Python's cycle collector paused around bulk work that builds many objects and no cycles.

Why: the collector runs a pass every 700 net container allocations, and every so often a
full pass over every tracked object; work that builds hundreds of thousands of tuples,
sets and dicts pays for passes that find nothing. Measured: 1.0-1.3 s of an 8.7 s,
10k-memory ingest (``Memory.add_many``, one batch at a time), and ~40% of loading one
scope's saved graph part at 100k memories (``index/graph_parts.py``). Reference counting
frees everything as usual meanwhile; cycles made in the pause are collected once the
collector is back on.

The same bulk work's other cost lives here too: the heap it freed, which the allocator
keeps until told to give it back (``give_back_heap``).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = False  # whether a block of this module holds the collector off now


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, and back on after it.

    One block at a time holds the pause: a block that starts while another holds it (a
    search on another thread) runs as things are, so the collector is back on as soon as
    the holder ends, and overlapping blocks never keep it off for good. A collector the
    program turned off is left off. The check and the switch are made under a lock: two
    threads must not both see it on, nor one turn it off just after another's end.
    """
    global _paused
    with _lock:
        mine = not _paused and gc.isenabled()
        if mine:
            gc.disable()
            _paused = True
    try:
        yield
    finally:
        if mine:
            with _lock:
                _paused = False
                gc.enable()


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; musl has none (AttributeError)
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


_last_trim = [0.0]


def give_back_heap(every: float = 0.0) -> None:
    """Hand the heap that bulk work freed back to the system, where glibc allows it; with
    ``every``, only if the last time was at least that many seconds ago.

    Why: glibc keeps freed memory for later allocations. Building a scope's index from the
    stores at 100k memories frees ~400 MB of transients (every payload read as a dict,
    every vector as its own array) that stayed in the process's RSS for good (measured:
    anonymous RSS 713 MB right after the build, 646 MB after this), and a 200k ingest
    left ~230 MB. Called after such work only: it walks the heap (~10-40 ms), which no
    search should pay."""
    now = time.monotonic()
    if _TRIM is not None and now - _last_trim[0] >= every:
        _last_trim[0] = now
        _TRIM(0)
