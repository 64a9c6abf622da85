"""In-process indexes kept on disk between runs, so reopening a data dir does not rebuild them.

Why: the indexes (``ScopeIndex`` per scope, the graph's ``GraphIndex``) are built from
the stores on first use, and at 100k memories in one scope that was most of a cold
start: reading every point back from Qdrant Edge, tokenising and stemming every text,
reading the whole graph back from Kuzu (issue 16). ``Memory.close`` now writes what it
holds to ``<data_dir>/index-snapshot/`` (format: ``snapshot.py``), and the next open
loads an index from there instead of the stores, when the snapshot provably matches them.

When a snapshot is trusted, and why it is never trusted wrongly:

- ``manifest.json`` is written last (to a temporary name, synced, renamed). Without it
  nothing is read, so a crash while saving leaves only files nobody trusts.
- A write, through either wrapper (``store.py``, ``stores/indexed_graph.py``), names
  the indexes it changes: the graph, or the scope indexes of one collection that cover
  the scopes of the points it writes or deletes. Before the store is touched, those
  snapshots still waiting are loaded (they match the stores until this write) and handed
  to their owner, which applies the write; the others stay trusted, loaded or not. The
  first write also deletes the manifest: a crash from there on leaves no snapshot, and
  the next open rebuilds.
- ``save`` writes the indexes the owners hold that changed or were built, and keeps the
  files of every snapshot no write touched, held or not: one user's write does not cost
  the other users' snapshots (a data dir of many scopes lost all but the
  ``index_max_scopes`` most recent ones to the first write before, and loaded all of
  them on that write).
- The manifest records a stamp of the stores: each vector collection's point count, the
  history's sequence numbers (every journaled write and every event moves them) and the
  graph's counts, plus the embedder's name and dimension and the format's version. Any
  difference on open (another process or an older graphmem wrote since) and nothing is
  loaded.
- Each file is checked (dtype, shape, checksum, and its contents against each other);
  one that fails is rebuilt from the stores, and the failure is kept in ``rejected``.
- A write that fails midway may leave an index and its store apart: nothing is saved.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..collector import collector_paused
from ..errors import GraphMemError
from ..models import Scope
from ..stores.graph_index import SNAPSHOT_KEY
from ..stores.indexed_graph import IndexedGraphStore
from ..stores.rows import summed_counts
from .graph_parts import BLOB, graph_arrays, open_graph
from .snapshot import NAME, load_scope, read_arrays, scope_arrays, write_arrays

VERSION = 14  # 2: payloads as rows decoded on first read; 3: the graph's rows by column;
# 4: the graph in parts by scope, loaded as reads need them (graph_parts.py); 5: their
# lists flat; 6: BM25 postings by slot within a term, used as read (keyword.Postings);
# 7: a graph part's texts in one table, its columns positions in it (graph_codec.py);
# 8: a scope's neighbours as columns by slot (snapshot.py); 9: BM25 terms of CJK text as
# character pairs, of other non-ASCII text NFKC-normalised (graphmem/text.py); 10: vectors
# as float16; 11: payload rows by shape, their keys said once (row_shapes.py);
# 12: neighbours as slots only, sorted by what their payloads say (neighbours.py);
# 13: vectors as int8 codes with a scale per row (dots.py); 14: and what the codes left
# over, in 4 bits, from which every cosine a search reads is computed (dots.fine)
MANIFEST = "manifest.json"
GRAPH = SNAPSHOT_KEY
_BROKEN = (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError)
log = logging.getLogger(__name__)


class Snapshots:
    """The snapshots under ``folder``: what may be loaded now, and saving on close.

    ``fingerprint`` (embedder name and dimension) and ``stamp()`` (counts of the stores)
    must both equal what the manifest recorded. ``loaded`` counts indexes read from here;
    ``rejected`` lists ``(what, why)`` for snapshots refused. With ``use=False`` nothing is
    loaded or saved, but a write still makes the snapshot on disk untrusted.
    """

    def __init__(self, folder: Path, fingerprint: dict[str, Any], stamp: Callable[[], Any],
                 use: bool = True) -> None:  # fmt: skip
        self.folder, self.fingerprint, self._stamp = Path(folder), fingerprint, stamp
        self.use = use
        self._lock = threading.Lock()
        self._pending: dict[tuple, dict[str, Any]] = {}  # trusted entries not loaded yet
        self._kept: dict[tuple, dict[str, Any]] = {}  # entries loaded, reusable if unchanged
        self.dirty = False  # a write happened: the manifest on disk is gone
        self.failed = False  # a write failed: indexes may disagree with the stores
        self.saved = False
        self.loaded = 0
        self.rejected: list[tuple[str, str]] = []
        # The stores' counts as the open read them, until the first write: the agreement
        # check reads the same counts right after (maintenance/agreement.py), and counting
        # the whole graph took ~0.15 s at 1M memories.
        self._fresh: dict[str, Any] | None = None
        self._owners: list[Any] = []
        if use:
            self._read_manifest()

    def attach(self, *owners: Any) -> None:
        """The wrappers that hold indexes: each has ``adopt(key, index)``, ``held()`` and
        ``let_go(key)``."""
        self._owners = [o for o in owners if o is not None]

    # -- reading -----------------------------------------------------------------------

    def _read_manifest(self) -> None:
        path = self.folder / MANIFEST
        if not path.is_file():
            return
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            entries = {_key(e): e for e in manifest["entries"]}
            why = None
            if manifest.get("version") != VERSION:
                why = f"format version {manifest.get('version')!r}, this graphmem reads {VERSION}"
            elif manifest.get("fingerprint") != self.fingerprint:
                why = f"made with {manifest.get('fingerprint')}, now {self.fingerprint}"
            else:
                self._fresh = _plain(self._stamp())
                if manifest.get("stamp") != self._fresh:
                    why = "the stores changed since it was written"
        except _BROKEN as exc:
            why = f"unreadable manifest ({exc})"
        if why is not None:
            self.rejected.append(("manifest", why))
            return
        self._pending = entries

    def take(self, key: tuple) -> Any:
        """The index saved under ``key`` if it is still trusted and loads cleanly, else None
        (the caller builds it from the stores). Each entry is given out once; it stays
        trusted, and is saved again as it is, until a write touches it."""
        with self._lock:
            entry = self._pending.pop(key, None)
            if entry is None:
                return None
            return self._load(key, entry)

    def _load(self, key: tuple, entry: dict[str, Any]) -> Any:
        try:
            if not NAME.fullmatch(str(entry["folder"])):  # "/etc", "..": not ours
                raise ValueError(
                    f"a snapshot file name that is not a plain name: {entry['folder']}"
                )
            folder, sums = self.folder / entry["folder"], dict(entry["arrays"])
            if key == GRAPH:  # the rows stay on disk until a read needs their part
                blob = sums.pop(BLOB)
                found = open_graph(read_arrays(folder, entry["name"], sums), folder,
                                   entry["name"], blob)  # fmt: skip
            else:
                arrays = read_arrays(folder, entry["name"], sums)
                with collector_paused():  # ids, groups, neighbours: many objects, no cycles
                    found = load_scope(key[2], entry["meta"], arrays, str(self.folder))
        except _BROKEN as exc:
            self.rejected.append((_what(key), str(exc)))
            log.warning("graphmem: index snapshot %s not used, rebuilt: %s", _what(key), exc)
            return None
        self.loaded += 1
        self._kept[key] = entry
        return found

    def counted(self) -> dict[str, Any] | None:
        """The stamp's counts (``store_stamp``) as this open read them, or None once any
        write has gone through a store since (or none were read)."""
        with self._lock:
            return self._fresh

    def refuse(self, key: tuple, why: str) -> None:
        """An index given out failed later (a graph part, ``graph_parts.py``): recorded, and
        saved afresh on close instead of keeping its files."""
        with self._lock:
            self.rejected.append((_what(key), why))
            self._kept.pop(key, None)

    # -- writes ------------------------------------------------------------------------

    def writing(self, touched: Callable[[tuple], bool] | None = None) -> None:
        """Called before a write reaches a store, with which keys it changes (``None``: it
        may change any). Hand each such snapshot still waiting to its owner (it matches the
        stores until this write) and stop trusting their files; the first write also
        removes the manifest."""
        with self._lock:
            self._fresh = None
            if self.dirty and not self._pending and not self._kept:
                return
            hit = (lambda key: True) if touched is None else touched
            found = [(key, self._load(key, entry))
                     for key, entry in list(self._pending.items()) if hit(key)]  # fmt: skip
            for key, _index in found:
                self._pending.pop(key, None)
            self._kept = {key: entry for key, entry in self._kept.items() if not hit(key)}
            if not self.dirty:
                (self.folder / MANIFEST).unlink(missing_ok=True)
                _sync_dir(self.folder)
                self.dirty = True
        for key, index in found:
            if index is not None:
                for owner in self._owners:
                    owner.adopt(key, index)

    def write_failed(self) -> None:
        self.failed = True

    # -- saving ------------------------------------------------------------------------

    def save(self) -> None:
        """Write every index the owners hold (and keep trusted ones not loaded), then the
        manifest. Errors are logged, not raised: a snapshot is only ever a shortcut."""
        if self.failed or not self.use or self.saved:
            return
        self.saved = True  # once: a second close finds the stores closed
        held = {key: index for owner in self._owners for key, index in owner.held().items()}
        with self._lock:
            if not self.dirty and all(k in self._kept for k in held):
                return  # nothing written and nothing new built: the disk is current
            # Snapshots no write touched, given out and since dropped by their owner (it
            # holds ``index_max_scopes`` per collection): their files are still good.
            for key in self._kept.keys() - held.keys():
                self._pending[key] = self._kept.pop(key)
            generation = uuid.uuid4().hex[:12]
            target = self.folder / generation
            try:
                self._write(held, generation, target)
            except (*_BROKEN, GraphMemError) as exc:  # a full disk, a store closed early
                log.warning("graphmem: index snapshot not saved: %s", exc)
                shutil.rmtree(target, ignore_errors=True)

    def _let_go(self, key: tuple) -> None:
        for owner in self._owners:
            owner.let_go(key)

    def _write(self, held: dict[tuple, Any], generation: str, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        entries = list(self._pending.values())  # trusted, never loaded or since dropped
        # This runs as the Memory closes: each index is let go by its owner once written,
        # the smallest first, and the graph copy, whose arrays are the largest, comes
        # last. Holding every index to the end put the close's peak RSS ~480 MB over the
        # searches' at 1M memories (10 scopes); letting each go, ~110-120 MB, with or
        # without the order by size (measured: the rest is elsewhere in the close).
        order = sorted(held, key=lambda k: (k == GRAPH, 0 if k == GRAPH else len(held[k])))
        for n, key in enumerate(order):
            index = held.pop(key)
            if key in self._kept:
                entries.append(self._kept[key])  # loaded and unchanged: its files stay
                self._let_go(key)
                continue
            meta, arrays = graph_arrays(index) if key == GRAPH else scope_arrays(index)
            name = f"i{n}"
            sums = write_arrays(target, name, arrays)
            del arrays, index  # before the next index's: one index's arrays held at a time
            self._let_go(key)
            entries.append({"kind": key[0], "collection": key[1] if key != GRAPH else None,
                            "scope": key[2].params() if key != GRAPH else None,
                            "folder": generation, "name": name, "meta": meta, "arrays": sums})  # fmt: skip
        _sync_dir(target)
        manifest = {"version": VERSION, "fingerprint": self.fingerprint,
                    "stamp": _plain(self._stamp()), "entries": entries}  # fmt: skip
        scratch = self.folder / f"{MANIFEST}.{generation}.tmp"
        with open(scratch, "w", encoding="utf-8") as out:
            json.dump(manifest, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, self.folder / MANIFEST)
        _sync_dir(self.folder)
        used = {e["folder"] for e in entries}
        for old in self.folder.iterdir():
            if old.is_dir() and old.name not in used:
                shutil.rmtree(old, ignore_errors=True)
            elif old.name.endswith(".tmp") and old != scratch:
                old.unlink(missing_ok=True)


def _key(entry: dict[str, Any]) -> tuple:
    if entry["kind"] == "graph":
        return GRAPH
    return ("scope", str(entry["collection"]), Scope.from_row(entry["scope"]))


def _what(key: tuple) -> str:
    return "the graph" if key == GRAPH else f"{key[1]} of {key[2]}"


def _plain(value: Any) -> Any:
    """``value`` as the JSON round trip gives it back, so stamps compare equal."""
    return json.loads(json.dumps(value))


def _sync_dir(folder: Path) -> None:
    if not folder.is_dir():
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store_stamp(vectors: Any, history: Any, graph: Any = None) -> dict[str, Any]:
    """Counts that any write to the stores changes: points per vector collection, the
    history's sequence numbers (events and journaled writes), and the graph's counts."""
    collections = getattr(vectors, "collections", ("facts", "entities"))
    stamp: dict[str, Any] = {"points": {c: vectors.count(c) for c in collections}}
    sequences = getattr(history, "sequences", None)
    stamp["history"] = sequences() if sequences is not None else None
    if graph is not None:
        stamp["graph"] = summed_counts(graph.run("graph_counts_all", {}))
    return stamp


def attach_snapshots(folder: Path, vectors: Any, graph: Any, history: Any, embedder: Any,
                     use: bool = True) -> Snapshots:  # fmt: skip
    """``Snapshots`` under ``folder`` for ``vectors`` (an ``IndexedVectorStore``) and,
    when it keeps an in-process copy, ``graph``; wired into both wrappers."""
    copy = graph if isinstance(graph, IndexedGraphStore) else None
    snapshots = Snapshots(folder, {"embedder": embedder.name, "dim": embedder.dim},
                          lambda: store_stamp(vectors.inner, history, copy), use)  # fmt: skip
    snapshots.attach(vectors, copy)
    vectors.snapshots = snapshots
    if copy is not None:
        copy.snapshots = snapshots
    return snapshots
