"""Ctrl-C and SIGTERM held back while one write reaches every store, or none.

Why: a signal handler raises its exception (``KeyboardInterrupt``, the CLI's
``Terminated``) at whatever line the main thread is running. Inside a write that line
can be anywhere: after the graph worker was told to commit and before the other stores'
undo was dropped, so the undo ran while the graph committed (found by sending SIGINT to
``graphmem add --file``: the graph held 1,000 memories the vectors and the history did
not, and the data dir no longer opened). Held back here, the signal is handled the moment
the write has ended, whole or undone; a second one is handled at once, as an escape from
a write that hangs (its journal entry then stays open, and the next open finishes it).

Only the main thread receives signals, and only it may set handlers: elsewhere (the
server's worker threads) this does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def held_back() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then handle the first one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[tuple[int, Any]] = []
    before: dict[int, Any] = {}

    def hold(signum: int, frame: Any) -> None:
        if arrived:  # the second: the user insists
            _deliver(before.get(signum), signum, frame)
        arrived.append((signum, frame))

    for signum in _SIGNALS:
        current = signal.getsignal(signum)
        if current is None:  # set outside Python: it could not be put back, so left alone
            continue
        try:
            before[signum] = signal.signal(signum, hold)
        except (ValueError, OSError):  # no handler can be set here (an embedded interpreter)
            break
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        if arrived:
            signum, frame = arrived[0]
            _deliver(before.get(signum), signum, frame)


def _deliver(handler: Any, signum: int, frame: Any) -> None:
    """Run what the signal would have run without ``held_back``."""
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL and signum == signal.SIGINT:
        raise KeyboardInterrupt
    elif handler == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
