"""Access tracking: which memories reads returned, counted off the hot path.

``search`` and ``get`` only note the ids they return (a dict update under a lock, a few
microseconds); a background thread writes the sums into the payloads
(``access_count``, ``last_accessed_at``) every ``interval`` seconds, and ``close()`` and
``maintain()`` flush what is left. A flush is a write, which searches wait for
(``graphmem/locks.py``), so it writes 16 memories at a time (their payloads only, each
vector kept) and searches run between.

Counts noted but not yet flushed are lost if the process is killed: access counts are a
hint for archival and promotion, not a record, and are not history events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

# Stores the sums it is given, removing each from the dict once stored: what is left when
# it raises is kept for the next flush.
Flush = Callable[[dict[str, tuple[int, str]]], None]


class AccessLog:
    """Pending ``id -> (reads, last read)`` sums, handed to ``flush`` in batches."""

    def __init__(self, flush: Flush, interval: float = 5.0) -> None:
        self._flush = flush
        self._interval = interval
        self._pending: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time: sums must not race
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def note(self, ids: Iterable[str], now: str) -> None:
        with self._lock:
            pending = self._pending
            for memory_id in ids:
                count, _ = pending.get(memory_id, (0, ""))
                pending[memory_id] = (count + 1, now)
            if self._thread is None and pending and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="graphmem-access", daemon=True
                )
                self._thread.start()

    def flush(self) -> int:
        """Write what is pending now; returns how many memories it touched."""
        with self._flushing:
            with self._lock:
                taken, self._pending = self._pending, {}
            count = len(taken)  # ``flush`` removes what it stores
            if taken:
                try:
                    self._flush(taken)
                except BaseException:
                    with self._lock:  # keep them for the next try
                        for memory_id, (count, last) in taken.items():
                            more, later = self._pending.get(memory_id, (0, ""))
                            self._pending[memory_id] = (count + more, max(last, later))
                    raise
            return count

    def close(self) -> None:
        """Stop the thread and flush the rest (``Memory.close``)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a store hiccup: the counts wait for the next flush
                continue
