"""Python's cycle collector paused around bulk work that builds many objects and no cycles.

Why: the collector runs a pass every 700 net container allocations, and every so often a
full pass over every tracked object; work that builds hundreds of thousands of tuples,
sets and dicts pays for passes that find nothing. Measured: 1.0-1.3 s of an 8.7 s,
10k-memory ingest (``Memory.add_many``, one batch at a time), and ~40% of loading one
scope's saved graph part at 100k memories (``index/graph_parts.py``). Reference counting
frees everything as usual meanwhile; cycles made in the pause are collected once the
collector is back on.

A process that graphmem owns (``graphmem serve``) may also freeze what each load leaves
(``freeze_after_loads``): ``gc.freeze`` moves every object the collector tracks into a
generation it never walks. Why: a full collection walks every tracked object, a loaded
100k-memory scope and its graph copy among them (~680k objects, 4.3M references, ~0.3 s
here), and runs inside whichever search allocates when its turn comes; at 100k memories
in one scope that was 2-8 of 198 searches and the latency tail (``benchmarks/results/
speed/gc-walk/``). Frozen objects are still freed by reference counting; a cycle among
them that becomes garbage is not collected. It is process-wide, so a library must not
choose it for the program that imports it: off unless asked for.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_freezing = False


def freeze_after_loads(on: bool = True) -> None:
    """Whether ``settle`` freezes the process's tracked objects (see the module docstring)."""
    global _freezing
    _freezing = bool(on)


def settle() -> None:
    """Called after an index loads or is built: the work of ``freeze_after_loads``."""
    if _freezing:
        gc.freeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, and back on after it unless it was off before
    (another thread's pause, or the program's own choice, is left as it was)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
