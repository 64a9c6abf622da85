"""The Kuzu graph file's health, checked before the engine opens it.

Kuzu 0.11 segfaults on some damaged files instead of raising, taking the host process
with it. A file graphmem did not close cleanly itself (a crash, a copy, another program's
write) is therefore first opened by a short child process; a file closed cleanly carries
a marker with its size and mtime and is trusted without the ~0.5 s probe. The child runs
the probe below as text: this module does not import the driver (``kuzu.py`` does).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from ..errors import StorageError

_MAGIC = b"KUZU"
CLEAN_MARK = ".graphmem-clean"
_PROBE = """
import sys, kuzu
conn = kuzu.Connection(kuzu.Database(sys.argv[1], read_only=True))
for name, kind in conn.execute("CALL show_tables() RETURN name, type").get_all():
    pattern = f"MATCH (x:{name})" if kind == "NODE" else f"MATCH ()-[x:{name}]->()"
    conn.execute(pattern + " RETURN count(*)").get_all()
"""
PROBE_TIMEOUT_S = 60  # zeroed pages made Kuzu hang on open; a healthy small file takes ~0.5 s


def _fingerprint(file: Path) -> str:
    parts = []
    for path in (file, file.with_name(file.name + ".wal")):
        if path.exists():
            st = path.stat()
            parts.append(f"{path.name} {st.st_size} {st.st_mtime_ns}")
    return "\n".join(parts)


def mark_clean(file: Path) -> None:
    if file.exists():
        (file.parent / CLEAN_MARK).write_text(_fingerprint(file))


def check_graph_file(file: Path) -> None:
    """Raise ``StorageError`` for a graph file Kuzu would crash on, before opening it."""
    if not file.exists() or file.stat().st_size == 0:
        return  # nothing to damage: Kuzu creates the file
    with file.open("rb") as handle:
        head = handle.read(len(_MAGIC))
    if head != _MAGIC:
        raise StorageError(file, _damaged(file, f"it does not start with Kuzu's {_MAGIC!r} header"))
    mark = file.parent / CLEAN_MARK
    if mark.exists() and mark.read_text() == _fingerprint(file):
        return
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(file)],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise StorageError(
            file, _damaged(file, f"a test open did not finish within {PROBE_TIMEOUT_S} s")
        ) from None
    if done.returncode < 0:  # killed by a signal: the engine crashed on this file
        name = signal.Signals(-done.returncode).name
        raise StorageError(file, _damaged(file, f"a test open crashed with {name}"))
    # Any other failure (locked by another process, a version mismatch) is reported by the
    # real open below, with its own message.


def _damaged(file: Path, why: str) -> str:
    return (
        f"the Kuzu graph file {file} is damaged ({why}); graphmem did not open it, so the "
        "process is safe. Restore the data directory from a backup, or move the file aside "
        "and run `graphmem doctor --repair`: it rebuilds every memory in a new graph from "
        "the vector store and the history (the entities and relations of the old graph are "
        "not rebuilt: add those memories again to extract them)"
    )
