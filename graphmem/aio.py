"""``AsyncMemory``: ``Memory`` for asyncio programs, derived from ``graphmem/api.py``.

No method here is written by hand: every op of ``api.OPS`` becomes a coroutine that runs
the real ``Memory`` method in a thread, so the event loop never blocks on a store.
``Lanes`` decides how calls may overlap: reads run side by side, writes run one at a
time in the order they were made, and never while a read is in flight, so a reader sees
a batch whole or not at all. The server runs every request through the same lanes.

    >>> async with AsyncMemory.open("./data") as m:                    # doctest: +SKIP
    ...     await m.add("Alice works at Acme.", user_id="alice")
    ...     hits = await m.search("where does Alice work?", user_id="alice")
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from .api import GraphNamespace, Op, install
from .locks import ReadWriteLock
from .memory import Memory

T = TypeVar("T")


class Lanes:
    """A pool of reader threads and one writer thread in front of one ``Memory``."""

    def __init__(self, readers: int = 4) -> None:
        self.lock = ReadWriteLock()
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix="graphmem-read")
        # One thread: writes leave in the order they arrived, whatever the event loop does.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="graphmem-write")

    async def run(self, write: bool, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        if write:
            return await loop.run_in_executor(self._writer, self.lock.run_write, fn)
        return await loop.run_in_executor(self._readers, self.lock.run_read, fn)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)


class AsyncMemory:
    """The ``Memory`` API as coroutines; ``graph`` is the relationship API likewise."""

    def __init__(self, memory: Memory, *, readers: int = 4) -> None:
        self.memory = memory
        self.lanes = Lanes(readers)
        self.graph = _AsyncRelations(self)

    @classmethod
    def open(cls, *args: Any, readers: int = 4, **kwargs: Any) -> AsyncMemory:
        """``Memory.open(*args, **kwargs)`` wrapped; ``close()`` closes both."""
        return cls(Memory.open(*args, **kwargs), readers=readers)

    async def _call(self, op: Op, args: tuple, kwargs: dict) -> Any:
        fn = partial(op.bound(self.memory), *args, **kwargs)
        return await self.lanes.run(op.write, fn)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def close(self) -> None:
        self.lanes.close()
        self.memory.close()

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _AsyncRelations(GraphNamespace):
    """The relationship API of this surface (methods installed below)."""


def _make(op: Op) -> Callable[..., Any]:
    async def method(self, *args: Any, **kwargs: Any) -> Any:
        return await self._call(op, args, kwargs)

    return method


install(AsyncMemory, _AsyncRelations, _make)
