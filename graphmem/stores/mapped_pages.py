"""Hand back the pages of a store's memory-mapped files that this process keeps resident.

Why: Qdrant Edge maps its segment files (vectors, payloads, payload indexes) into this
process. Every page a write or a read touched stays mapped until the kernel needs the
memory elsewhere, and the process's resident size counts it: at 1M memories 2.4 GB of
the speed suite's 9.1 GB peak (benchmarks/results/speed/1m/README.md, section 18).
graphmem searches its own in-process copy of the vectors, so Edge reads those pages
again only to rebuild that copy or to answer a fallback.

``release`` asks the kernel (``madvise(MADV_DONTNEED)``) to drop this process's view of
those pages. For a *shared* file mapping this loses nothing: the pages belong to the
file's page cache, dirty ones are written back as they would have been, and the next
access maps them in again, from the cache while they are still there and else from
disk. Private mappings are never touched: there the same call would throw away changes.

The caller must hold the lock that serialises the store's calls (Edge runs in them): a
mapping unmapped between reading ``/proc/self/maps`` and the ``madvise`` could have its
addresses reused by other memory. Outside Linux, ``release`` does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

_MAPS = "/proc/self/maps"
_MADV_DONTNEED = 4


def _madvise() -> Callable[[int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    call.restype = ctypes.c_int
    return call


_MADVISE = _madvise()


def shared_mappings(folders: Iterable[Path]) -> list[tuple[int, int, str]]:
    """``(start, end, path)`` of this process's shared mappings of files under ``folders``."""
    roots = tuple(str(Path(f).resolve()) + os.sep for f in folders)
    found: list[tuple[int, int, str]] = []
    if not roots:
        return found
    try:
        with open(_MAPS, encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                # address perms offset dev inode path; "s" as the 4th flag: shared
                if len(fields) < 6 or fields[1][3:4] != "s":
                    continue
                path = fields[5].rstrip("\n")
                if not path.startswith(roots):
                    continue
                start, end = (int(x, 16) for x in fields[0].split("-"))
                found.append((start, end, path))
    except OSError:  # no /proc: nothing is known, so nothing is released
        return []
    return found


def release(folders: Iterable[Path]) -> int:
    """Drop this process's resident pages of shared mappings of files under ``folders``;
    returns the bytes of address space asked for (not all of it was resident)."""
    if _MADVISE is None:
        return 0
    asked = 0
    for start, end, _path in shared_mappings(folders):
        if _MADVISE(start, end - start, _MADV_DONTNEED) == 0:
            asked += end - start
    return asked


class PageReleaser:
    """``release`` once a store's calls have moved ``every`` points since the last time.

    Counted in points, not seconds: what stays resident grows with the points written or
    read (a vector and its payload each), and one small write, such as a flush of read
    counts that searches wait for, should not pay for a release (~3-5 ms at 500k
    memories, most of it reading ``/proc/self/maps``); the flushes count too, so a
    process that serves searches for long releases every ``every`` of their points."""

    def __init__(self, folders: Callable[[], Iterable[Path]], every: int = 5_000) -> None:
        self._folders = folders
        self.every = every
        self._moved = 0

    def moved(self, points: int) -> None:
        self._moved += points
        if _MADVISE is not None and self._moved >= self.every:
            self._moved = 0
            release(self._folders())
