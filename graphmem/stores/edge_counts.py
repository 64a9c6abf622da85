"""Point counts of Qdrant Edge shards, kept beside them so that an open need not load them.

Loading a shard reads its id tracker and payload indexes into memory: at a million points
about a second, with the GIL held (measured, issue 16). graphmem searches its own
in-process copy of the vectors (``index/store.py``), so a process that only reads, such as a
CLI search or a restarted server's first answers, needs a shard for one thing at open: the
counts that the snapshot stamp and the agreement check compare. This file answers them.

When an entry is believed:
- ``EdgeVectorStore.close`` writes the file after the shards are flushed and closed. It
  holds each shard's exact count and the stamp of every file in the shard's folder: its
  path, size, modification time and inode.
- The file is removed before any shard is loaded. A process that loads a shard, writes
  and then dies leaves no file, and the next open counts the shard itself.
- An entry is used only while every file of its shard still has the stamp it recorded.
  A folder restored, copied or changed by anything else shows up as a different stamp,
  and then the shard is loaded and counted as before.

The store's directory lock keeps other graphmem processes out while one holds it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

VERSION = 1


def stamp(folder: Path) -> list[list[object]]:
    """Every file under ``folder`` as ``[relative path, size, mtime_ns, inode]``, sorted;
    empty for a folder that does not exist."""
    out: list[list[object]] = []
    if not folder.is_dir():
        return out
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            full = Path(root, name)
            info = full.stat()
            out.append([str(full.relative_to(folder)), info.st_size, info.st_mtime_ns,
                        info.st_ino])  # fmt: skip
    return out


def read(path: Path, folders: Mapping[str, Path]) -> dict[str, int]:
    """The counts in ``path`` whose shard folders (``folders``: collection -> folder) are
    unchanged since they were written; nothing for a missing or unreadable file."""
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("graphmem: %s not used, the shards will be counted: %s", path, exc)
        return {}
    if not isinstance(saved, dict) or saved.get("version") != VERSION:
        return {}
    shards = saved.get("shards")
    out: dict[str, int] = {}
    for name, folder in folders.items():
        entry = shards.get(name) if isinstance(shards, dict) else None
        if not isinstance(entry, dict):
            continue
        count = entry.get("points")
        try:
            same = entry.get("files") == stamp(folder)
        except OSError:  # a file gone while it was read: count the shard itself
            same = False
        if type(count) is int and count >= 0 and same:
            out[name] = count
    return out


def write(path: Path, counts: Mapping[str, int], folders: Mapping[str, Path]) -> None:
    """Save ``counts`` with the stamps of their folders as they are now (shards closed)."""
    body = {"version": VERSION,
            "shards": {n: {"points": int(c), "files": stamp(folders[n])}
                       for n, c in counts.items()}}  # fmt: skip
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    os.replace(tmp, path)


def forget(path: Path) -> None:
    """Remove the file: a shard is about to be loaded, and may change."""
    path.unlink(missing_ok=True)
