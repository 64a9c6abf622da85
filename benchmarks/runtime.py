"""What every suite needs around graphmem: embedders, opening a Memory, progress, sizes.

graphmem is imported lazily so the metric code, the loader and their tests run even where
the library (or one of its optional models) is not importable.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

Item = TypeVar("Item")

REPO_ROOT = Path(__file__).resolve().parent.parent
EMBEDDERS = ("hash", "local")
EXTRACTORS = ("none", "offline", "llm")


class BenchmarkError(RuntimeError):
    """A suite's own check failed (oracle below 1.0, a scope leak): the run is not valid."""


def progress(items: Iterable[Item], total: int | None = None, desc: str = "") -> Iterator[Item]:
    """graphmem's progress bar (``graphmem/cli/progress.py``) on stderr while it is a
    terminal; nothing otherwise, so logs and captured runs stay clean.
    ``GRAPHMEM_QUIET=1`` turns it off on a terminal too."""
    from graphmem.cli.progress import Progress

    quiet = os.environ.get("GRAPHMEM_QUIET") == "1"
    with Progress(total, desc, enabled=sys.stderr.isatty() and not quiet) as bar:
        for item in items:
            yield item
            bar.update()


def make_embedder(name: str) -> Any:
    """The graphmem embedder object for ``name``, shared by graphmem and the baselines.

    Passing one object to both ``Memory.open`` and the dense baseline is the point: the
    baseline then embeds with exactly the model, settings and normalisation graphmem uses.
    """
    from graphmem.embed import local

    if name == "hash":
        return local.HashingEmbedder()
    if name == "local":
        return local.MiniLMEmbedder()
    raise ValueError(f"unknown embedder {name!r}: choose one of {', '.join(EMBEDDERS)}")


class CachingEmbedder:
    """Wraps an embedder so each distinct text is embedded once per run.

    On a 2-core machine the model dominates: LoCoMo asks every question of ~7 methods,
    and without a cache MiniLM would embed each question ~7 times. The suites warm the
    cache with every question before timing searches, so every method's latency excludes
    the query embedding alike, and the embedding cost is measured and reported on its own.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[str, list[float]] = {}

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            self._cache.update(zip(missing, self.inner.embed(missing), strict=True))
        return [self._cache[text] for text in texts]

    def warm(self, texts: Sequence[str], batch_size: int = 256) -> None:
        for chunk in batched(list(dict.fromkeys(texts)), batch_size):
            self.embed(chunk)

    def single_query_seconds(self, texts: Sequence[str], sample: int = 50) -> list[float]:
        """Uncached one-text calls, timed: what embedding a user's query costs."""
        chosen = list(texts)[:sample]
        if chosen:
            self.inner.embed(chosen[:1])  # loads a lazy model: not part of any query's cost
        timings = []
        for text in chosen:
            started = time.perf_counter()
            self.inner.embed([text])
            timings.append(time.perf_counter() - started)
        return timings


def extraction_mode(extract: str) -> tuple[str | None, bool]:
    """``--extract`` value -> (``extractor`` for Memory.open, ``infer`` for add_many).

    ``none`` stores every memory verbatim; ``offline``/``llm`` run that extractor on add.
    """
    if extract == "none":
        return None, False
    if extract in ("offline", "llm"):
        return extract, True
    raise ValueError(f"unknown extractor {extract!r}: choose one of {', '.join(EXTRACTORS)}")


def open_memory(
    data_dir: Path,
    embedder: Any,
    *,
    graph: str = "kuzu",
    extractor: str | None = None,
    graph_options: dict[str, Any] | None = None,
    **settings: Any,
) -> Any:
    """``Memory.open`` with the options a suite was given (neo4j connection passed through;
    ``settings`` are further ``Config`` fields)."""
    from graphmem import Memory

    options = {key: value for key, value in (graph_options or {}).items() if value is not None}
    options.update(settings)
    if extractor is not None:
        # Left out otherwise: Memory then uses its offline linker for infer=False adds.
        options["extractor"] = extractor
    return Memory.open(str(data_dir), embedder=embedder, graph=graph, **options)


def batched(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """(result, seconds) of one call, on the monotonic high-resolution clock."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - started


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far.

    Linux: ``VmHWM``, the high-water mark of this process's own memory. ``ru_maxrss``
    carries the parent's across ``fork`` + ``exec``: the speed suite's cold-open process,
    started by the process that had just ingested 1M memories, reported that process's
    13 GB as its own (a child of a 600 MB process reports 613 MB there, 14 MB here).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


class PhasePeaks:
    """Peak RSS per phase of a run: the high-water mark is read, then cleared, at each
    phase's end (Linux, ``/proc/self/clear_refs``), so a 1M run says whether its peak came
    in the ingest, the index builds or the close. A phase's peak is at least what the
    process held when it began. Where the mark cannot be cleared, each phase reports the
    peak so far and ``apart`` is False."""

    def __init__(self) -> None:
        # Not cleared here: the first phase holds everything since the process began.
        self.peaks: dict[str, float] = {}
        self.apart = True

    def end(self, phase: str) -> None:
        self.peaks[phase] = peak_rss_mb()
        self.apart = _clear_peak() and self.apart

    def overall(self) -> float:
        return max([*self.peaks.values(), peak_rss_mb()])


def _clear_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # 5: reset the peak RSS (VmHWM) to the current RSS
        return True
    except OSError:
        return False


def dir_size_mb(path: Path) -> float:
    """Disk actually used, as ``du`` counts it: Qdrant Edge preallocates sparse WAL and
    storage files (64 MB apparent size for a few MB written), which ``st_size`` counts."""
    total = sum(entry.stat().st_blocks * 512 for entry in Path(path).rglob("*") if entry.is_file())
    return total / (1024.0 * 1024.0)


def resolve_data_path(value: str) -> Path:
    """A relative ``--data`` is taken from the repository root, not the working directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def answer_worker(worker: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
    """Run ``worker`` if this process was started as ``... --worker REQUEST ANSWER``: the
    request's JSON in, the answer's JSON written; False if it was started otherwise."""
    if len(sys.argv) != 4 or sys.argv[1] != "--worker":
        return False
    request = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
    Path(sys.argv[3]).write_text(json.dumps(worker(request)), encoding="utf-8")
    return True


def add_speed_run_arguments(parser: Any, scopes: int = 1) -> None:
    """The options naming a kept speed-suite data dir and the run that wrote it: with its
    size, scopes, seed and question count, the generator gives back what the run stored
    and asked (``benchmarks/generator.py``)."""
    parser.add_argument("--data", type=Path, required=True,
                        help="a speed-suite data dir (copied per tree)")  # fmt: skip
    parser.add_argument("--size", type=int, required=True, help="the speed run's --sizes")
    parser.add_argument("--scopes", type=int, default=scopes, help="the speed run's --scopes")
    parser.add_argument("--seed", type=int, default=0, help="the speed run's --seed")
    parser.add_argument("--queries", type=int, default=100, help="the speed run's --queries")
