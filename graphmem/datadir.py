"""Checks on the data directory, run before any store is handed its path.

The engines do not all fail cleanly on a bad directory: on a disk with a few MB left
Qdrant Edge maps files it cannot back and the process dies with SIGBUS; a path that is a
file or on a read-only filesystem surfaced as a driver traceback from whichever store
opened first. Each case here becomes one ``StorageError`` that names the path and what
to do, raised while nothing has been written.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from .errors import StorageError


def check_data_dir(path: Path, min_free_mb: int) -> None:
    """Make ``path`` (a directory) if needed, then prove it can be written and has room."""
    try:
        # Stricter than os.fsencode: a name of bytes that are not UTF-8 ("clid\xff") is one
        # Linux keeps and Python holds as a surrogate escape, but Kuzu and Qdrant Edge take
        # paths as UTF-8 text only. A lone surrogate ("\ud800") fails here too.
        str(path).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StorageError(path, f"the data directory {path!r} is not valid UTF-8 (character "
                           f"{exc.object[exc.start]!r} at {exc.start}), and the embedded "
                           "engines open UTF-8 paths only; choose another data_dir") from None  # fmt: skip
    if "\x00" in str(path):
        raise StorageError(path, f"the data directory {path!r} holds a NUL character; choose "
                           "another data_dir")  # fmt: skip
    try:
        # A name past the filesystem's limits (ENAMETOOLONG) fails even a stat.
        existing = _nearest_existing(path)
    except OSError as exc:
        raise StorageError(path, _unusable(path, exc.strerror or str(exc))) from None
    _check_names(path, existing)
    if existing != path and not existing.is_dir():
        raise StorageError(
            path,
            f"the data directory {path} cannot be created: {existing} is a file, not a "
            "directory; choose another data_dir (GRAPHMEM_DATA_DIR, --data-dir)",
        )
    if path.exists() and not path.is_dir():
        raise StorageError(
            path,
            f"the data directory {path} is a file, not a directory; choose another data_dir "
            "(GRAPHMEM_DATA_DIR, --data-dir) or move that file away",
        )
    # Free space first: making the directory is a write, and on a full disk nothing should be.
    _check_free_space(path, existing, min_free_mb)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(path, _cannot_write(path, exc)) from exc
    # Root ignores permission bits, and a read-only mount only shows on a real write: so
    # probe by creating a file rather than asking os.access.
    try:
        fd, probe = tempfile.mkstemp(prefix=".graphmem-probe-", dir=path)
    except OSError as exc:
        raise StorageError(path, _cannot_write(path, exc)) from exc
    os.close(fd)
    os.unlink(probe)


def _check_names(path: Path, existing: Path) -> None:
    """Each directory still to be made has a name the filesystem takes: else mkdir made
    the ones before it and then failed, leaving them behind."""
    try:
        most = os.pathconf(existing, "PC_NAME_MAX") if existing.is_dir() else 255
    except (OSError, ValueError):
        most = 255
    for part in path.relative_to(existing).parts if existing != path else ():
        if len(os.fsencode(part)) > most:
            raise StorageError(path, _unusable(path, os.strerror(errno.ENAMETOOLONG)))


def _unusable(path: Path, why: str) -> str:
    shown = str(path) if len(str(path)) <= 200 else str(path)[:200] + "..."
    return (f"the data directory {shown} cannot be used: {why}; choose "
            "another data_dir (GRAPHMEM_DATA_DIR, --data-dir)")  # fmt: skip


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_room(path: Path, min_free_mb: int) -> None:
    """Before each write (``Writer.commit``): the disk of ``path`` still has
    ``min_free_mb`` free. Checked only at open, a disk that filled later met the next
    write inside Qdrant Edge's memory-mapped files, where it is no error but a SIGBUS
    that ended the process (a running ``graphmem serve`` with it). A statvfs call, a few
    microseconds."""
    _check_free_space(path, path, min_free_mb, "write")


def _check_free_space(path: Path, existing: Path, min_free_mb: int, doing: str = "open") -> None:
    if min_free_mb <= 0:
        return
    try:
        free = shutil.disk_usage(existing if existing.is_dir() else existing.parent).free
    except OSError as exc:
        raise StorageError(path, f"cannot read the free space of {path}: {exc}") from exc
    if free < min_free_mb * 1024 * 1024:
        raise StorageError(
            path,
            f"only {free / 1024 / 1024:.1f} MB free on the disk of {path}, below the "
            f"{min_free_mb} MB the stores need to {doing} safely (min_free_disk_mb); free some "
            "space, choose a data_dir on another disk, or lower min_free_disk_mb",
        )


def _cannot_write(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return _unusable(path, exc.strerror or str(exc))
    if exc.errno == errno.EROFS:
        why = "it is on a read-only filesystem"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why = "permission denied"
    elif exc.errno == errno.ENOSPC:
        why = "the disk is full"
    else:
        why = exc.strerror or str(exc)
    return (
        f"the data directory {path} is not writable ({why}); choose a data_dir you can "
        "write to (GRAPHMEM_DATA_DIR, --data-dir) or fix its permissions or mount"
    )
