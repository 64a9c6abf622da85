"""Unit vectors of relation names, shared by ingest and search and kept across opens.

The graph walk weighs each relation by how close its name is to the query
(``search/graph.py``, ``Relevance``), so a search needs the vector of every relation name
it meets. Embedded when a search first met them, the names were most of a hybrid search
on a graph a model extracted: musique-dev's recorded extraction holds 5,031 distinct
names among 17,011 relations, and each new question met ~190 names no earlier one had,
~75 ms of embedding on this 2-core machine (hybrid p95 3.2x vector's; measured in
``benchmarks/results/musique/name-vectors/``). So ingest embeds the relation names of a
write in the same embedding call as its facts (``Pipeline.prepare`` asks ``missing`` and
``put``s what it embedded), and the vectors are saved in the data dir on close (unless
``persist_indexes`` is off, as for the index snapshots). Search embeds only a name
neither had (a data dir written before this, a name the resolver rewrote, or a process
killed before close), all it meets in one call.

It is a cache of the embedder's output, never a record: a missing, stale or unreadable
file costs embedding calls, not results, and is written again on the next close. The
file names the embedder it was made with; another embedder's vectors are not read.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..models import check_relation_name

log = logging.getLogger(__name__)

FILE = "relation-names.npz"
# Names held (LRU): 5,031 names of 384 floats are ~7.7 MB; past this many, the names used
# least recently are dropped and embedded again if a search meets them.
LIMIT = 100_000


def text_of(name: str) -> str:
    """What is embedded for a relation name: ``works_at`` reads as ``works at``."""
    return name.replace("_", " ")


class NameVectors:
    """``name -> unit float32 vector`` for relation names, embedded once per data dir."""

    def __init__(self, embedder: Any, path: Path | None = None, limit: int = LIMIT) -> None:
        self._embedder = embedder
        self._path = path
        self._limit = limit
        self._held: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._loaded = path is None
        self._changed = False

    @property
    def fingerprint(self) -> str:
        return f"{getattr(self._embedder, 'name', '')}|{getattr(self._embedder, 'dim', 0)}"

    def __len__(self) -> int:
        with self._lock:
            self._load()
            return len(self._held)

    def missing(self, names: Iterable[str]) -> list[str]:
        """The distinct names of ``names`` held by neither this process nor the file (a
        string that is no valid relation name is never one: nothing would be stored).
        What ingest asks before it embeds names ahead."""
        return self._absent(n for n in names if _valid(n))

    def put(self, names: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Keep ``vectors`` (as the embedder gave them for ``text_of(name)``) as units."""
        if not names:
            return
        rows = _units(vectors, len(names))
        with self._lock:
            self._load()
            for name, row in zip(names, rows, strict=True):
                self._held[name] = row
                self._held.move_to_end(name)
            self._changed = True
            self._trim()

    def vectors(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit vectors of ``names``; those not held are embedded in one call first (a
        stored name is embedded whatever its spelling: it is in the graph already)."""
        todo = self._absent(names)
        if todo:
            self.put(todo, self._embedder.embed([text_of(n) for n in todo]))
        with self._lock:
            out = {}
            for name in names:
                row = self._held.get(name)
                if row is None:  # dropped by the LRU between the two steps: embed it alone
                    row = _units(self._embedder.embed([text_of(name)]), 1)[0]
                    self._held[name] = row
                self._held.move_to_end(name)
                out[name] = row
            self._trim()
            return out

    def _absent(self, names: Iterable[str]) -> list[str]:
        with self._lock:
            self._load()
            return sorted({n for n in names if n not in self._held})

    def save(self) -> None:
        """Write the held vectors to the file, if any changed (``Memory.close``). Errors
        are logged, not raised: the file only ever saves embedding calls."""
        if self._path is None:
            return
        with self._lock:
            if not self._changed:
                return
            names = list(self._held)
            rows = (np.stack([self._held[n] for n in names]) if names
                    else np.zeros((0, 0), np.float32))  # fmt: skip
            self._changed = False
        part = self._path.with_name(self._path.name + ".part")
        try:
            with open(part, "wb") as out:
                np.savez(out, fingerprint=np.asarray(self.fingerprint),
                         names=np.asarray(names), vectors=rows)  # fmt: skip
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, self._path)
        except OSError as exc:  # a full disk, a read-only data dir: the next search embeds
            log.warning("graphmem: relation name vectors not saved: %s", exc)
            part.unlink(missing_ok=True)
            with self._lock:
                self._changed = True

    def _load(self) -> None:
        """Read the file once, on first use (under the lock)."""
        if self._loaded:
            return
        self._loaded = True
        try:
            with np.load(self._path, allow_pickle=False) as saved:
                if str(saved["fingerprint"]) != self.fingerprint:
                    return  # another embedder's: its vectors cannot be compared
                names, rows = saved["names"].tolist(), saved["vectors"].astype(np.float32)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, EOFError):
            self._changed = True  # unreadable: rewritten on the next save
            return
        dim = self._dim()
        if rows.ndim != 2 or len(rows) != len(names) or (names and dim and rows.shape[1] != dim):
            self._changed = True
            return
        for name, row in zip(names, rows, strict=True):
            self._held.setdefault(str(name), row)
        self._trim()

    def _dim(self) -> int:
        return int(getattr(self._embedder, "dim", 0) or 0)

    def _trim(self) -> None:
        while len(self._held) > self._limit:
            self._held.popitem(last=False)


def _valid(name: object) -> bool:
    try:
        return check_relation_name(name) == name
    except ValidationError:
        return False


def _units(vectors: Sequence[Sequence[float]], count: int) -> np.ndarray:
    """``count`` embedder rows as float32 unit rows (a zero row stays zero)."""
    rows = np.asarray(vectors, np.float32).reshape(count, -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)
