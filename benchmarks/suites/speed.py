"""Suite ``speed``: ingest throughput, search and graph latency, memory and disk by size.

Each (size, embedder) configuration runs in its own Python process: peak RSS from
``getrusage`` is a per-process high-water mark, so sharing a process would report the
largest run for every later one; and Kuzu wants one read-write database per process.
The hashing embedder isolates the engine (embedding costs next to nothing); the local
model shows what a user of the default pays. Data comes from ``benchmarks.generator``,
all in one scope by default, as the "10k memories in one scope" target is stated. Its
cities, languages and pet names are fixed in number, so each is a hub whose facts grow with
the size (~1k facts on the largest at 100k, ~10k at 1M): hop-2 questions walk through them.

Per size: the average ingest rate and the rate of the last 10% (where the scope is largest),
search p50/p95 per recipe, graph reads, peak RSS, disk, and a cold start: a fresh process
(``cold_open``) opens the data dir the run wrote and runs one hybrid search, first with the
indexes the run's close saved (``cold``), then a second fresh process with them off,
rebuilding from the stores as before issue 16 (``cold_rebuilt``; it runs second because
its writes, read counts, leave the saved indexes untrusted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..generator import generate
from ..metrics import percentiles_ms
from ..runtime import (
    EMBEDDERS,
    EXTRACTORS,
    REPO_ROOT,
    BenchmarkError,
    PhasePeaks,
    batched,
    dir_size_mb,
    extraction_mode,
    make_embedder,
    open_memory,
    peak_rss_mb,
    progress,
)
from .speed_report import WARM_UP, _report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="10000,100000", help="memories per run, comma-separated")
    parser.add_argument("--embedders", default="hash,local", help=f"any of {', '.join(EMBEDDERS)}")
    parser.add_argument(
        "--local-max-size",
        type=int,
        default=10_000,
        help="skip the local model above this size (its cost is linear)",
    )
    parser.add_argument("--scopes", type=int, default=1, help="scopes the memories are spread over")
    parser.add_argument(
        "--extract",
        choices=EXTRACTORS,
        default="none",
        help="none: batched infer=False adds (entities still linked)",
    )
    parser.add_argument("--recipes", default="vector,keyword,graph,hybrid")
    parser.add_argument("--queries", type=int, default=200, help="timed searches per recipe")
    parser.add_argument("--graph-queries", type=int, default=100, help="timed neighbour reads")
    parser.add_argument("--batch-size", type=int, default=1000, help="memories per add_many batch")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fresh-store runs per configuration; the one with the median ingest rate is "
        "reported, with the range (this VM's timings vary by +-30%% run to run)",
    )
    parser.add_argument(
        "--repeat-max-size",
        type=int,
        default=10_000,
        help="sizes above this run once: a 100k run on a graph server takes many minutes",
    )
    parser.add_argument("--graph", choices=("kuzu", "neo4j"), default="kuzu")
    parser.add_argument("--neo4j-uri", default=None)
    parser.add_argument("--neo4j-user", default=None)
    parser.add_argument("--neo4j-password", default=None)
    parser.add_argument("--neo4j-database", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--access-tracking",
        choices=("on", "off", "both"),
        default="on",
        help="count reads per memory (the default); both: time the searches with counting "
        "off, then on, in one process (search_ms_untracked)",
    )
    parser.add_argument(
        "--index-max-scopes",
        type=int,
        default=None,
        help="Config.index_max_scopes: in-process indexes held per collection (default: "
        "graphmem's); each search of a scope not held rebuilds or reloads its index",
    )
    parser.add_argument(
        "--graph-buffer-pool-mb",
        type=int,
        default=None,
        help="Config.graph_buffer_pool_mb: Kuzu's page cache (default: graphmem's)",
    )
    parser.add_argument(
        "--graph-checkpoint-mb",
        type=int,
        default=None,
        help="Config.graph_checkpoint_mb: Kuzu's log size that starts a checkpoint "
        "(default: graphmem's)",
    )
    parser.add_argument(
        "--keep-data",
        default="",
        help="write each run's data dir under this folder (<size>-<embedder>) and keep it, "
        "to profile a reopen; default: a temporary dir, deleted after the run",
    )
    parser.add_argument("--out", default="", help="results dir (default results/speed)")


def _scratch(keep: str, name: str) -> Any:
    """A temporary dir, or ``keep/name`` emptied first and left in place (``--keep-data``)."""
    if not keep:
        return tempfile.TemporaryDirectory(prefix="graphmem-speed-")
    folder = Path(keep) / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return contextlib.nullcontext(str(folder))


def measure(config: dict[str, Any]) -> dict[str, Any]:
    """One configuration, in the current process (the worker side)."""
    size, scopes = config["size"], config["scopes"]
    data = generate(size, scopes, max(1, config["queries"] // 3), config["seed"])
    extractor, infer = extraction_mode(config["extract"])
    embedder = make_embedder(config["embedder"])
    # A server outlives the run: the next run on the same database would find every memory
    # already stored (ids are content hashes) and time a no-op, so each run gets scopes
    # of its own there. Embedded stores start empty in a fresh directory every run.
    suffix = "" if config["graph"] == "kuzu" else "-" + uuid.uuid4().hex[:8]
    result: dict[str, Any] = {"size": size, "embedder": config["embedder"], "scope_suffix": suffix}
    phases = PhasePeaks()  # the ingest's peak: all since the process began (data, open)
    with _scratch(config.get("keep_data") or "", f"{size}-{config['embedder']}") as scratch:
        data_dir = Path(scratch) / "data"
        memory = open_memory(
            data_dir,
            embedder,
            graph=config["graph"],
            extractor=extractor,
            graph_options=config["graph_options"],
            **bounds(config),
        )
        try:
            by_scope: dict[str, list[dict[str, Any]]] = {}
            for fact in data.facts:
                by_scope.setdefault(fact.scope + suffix, []).append(
                    {"text": fact.text, "source_ids": [fact.source_id], "timestamp": fact.timestamp}
                )
            chunks = [
                (s, c)
                for s, items in by_scope.items()
                for c in batched(items, config["batch_size"])
            ]
            # What is read from the generated facts is taken now, and they are let go: at
            # 1M they and the items above held ~1.4 GB, counted in this process's peak RSS.
            result["largest_hub_facts"] = largest_hub(data.facts)
            starts = _graph_starts(data, config["graph_queries"], suffix)
            data.facts.clear()
            del by_scope
            written, done, curve, rss, anon = 0, 0, [], [], []
            started = time.perf_counter()
            for number in progress(range(len(chunks)), len(chunks), f"ingest {size}"):
                scope, chunk = chunks[number]
                chunks[number] = (scope, ())  # released once written
                added = memory.add_many(
                    list(chunk), user_id=scope, infer=infer, batch_size=config["batch_size"]
                )
                written += len(added.facts)
                done += len(chunk)
                curve.append((done, time.perf_counter() - started))
                rss.append(current_rss_mb())
                anon.append(rss_parts_mb()["anon"])
            seconds = time.perf_counter() - started
            result["memories_written"] = written
            result["ingest_seconds"] = seconds
            result["ingest_per_s"] = size / seconds if seconds else float("nan")
            result["ingest_curve"] = curve
            result["ingest_last10_per_s"] = last_share_rate(curve)
            result["ingest_rss_mb"] = rss  # after each batch: the held indexes' growth
            # The anonymous part: what only this process holds. The rest of RSS is file
            # pages (Qdrant Edge maps its vectors and payloads), which the kernel can drop.
            result["ingest_rss_anon_mb"] = anon
            phases.end("ingest")
            queries = [q for q in data.questions if q.kind in ("hop1", "hop2", "hop3")]
            # One search per scope searched, apart from the timed ones: its first search
            # builds the scope's facts index from the stores (the ingest held none), what
            # a process that bulk-loads and then serves pays once per scope; timed here,
            # as the cold start below times a fresh process loading saved indexes.
            warm_up = result["warm_up_s"] = []
            for scope in dict.fromkeys(q.scope + suffix for q in queries[: config["queries"]]):
                began = time.perf_counter()
                memory.search("warm up", user_id=scope, limit=10, recipe="hybrid")
                warm_up.append(time.perf_counter() - began)
            result["rss_after_warm_up_mb"] = current_rss_mb()
            phases.end("warm_up")  # the searched scopes' indexes built
            result["search_ms"] = {}
            tracking = config.get("access_tracking", "on")
            modes = [True, False] if tracking == "both" else [tracking == "on"]
            untracked: dict[str, Any] = {}
            for recipe in config["recipes"]:
                timings: dict[bool, list[float]] = {mode: [] for mode in modes}
                # One mode after the other, counting off first: the counts are written by a
                # thread every few seconds, so a search with counting off timed between
                # searches with it on waited for their flushes too (the two modes were
                # interleaved per query until 2026-11-29, which hid the cost).
                for mode in sorted(modes):
                    memory.access.flush()  # nothing of the last block left to write
                    memory.track_access = mode
                    for number, question in enumerate(queries[: config["queries"] + WARM_UP]):
                        began = time.perf_counter()
                        memory.search(
                            question.text, user_id=question.scope + suffix, limit=10,
                            recipe=recipe,
                        )  # fmt: skip
                        if number >= WARM_UP:
                            timings[mode].append(time.perf_counter() - began)
                result["search_ms"][recipe] = percentiles_ms(timings[modes[0]])
                if tracking == "both":
                    untracked[recipe] = percentiles_ms(timings[False])
            if untracked:
                result["search_ms_untracked"] = untracked
            result.update(_graph_latency(memory, starts))
            result["rss_after_searches_mb"] = rss_parts_mb()
            result["mapped_files_after_searches_mb"] = mapped_files_mb(data_dir.resolve())
            phases.end("searches")
        finally:
            closing = time.perf_counter()
            memory.close()
            result["close_s"] = time.perf_counter() - closing  # saving the indexes included
            phases.end("close")
        result["disk_mb"] = dir_size_mb(data_dir)
        result["peak_rss_mb"] = phases.overall()
        result["peak_rss_by_phase_mb"] = phases.peaks
        result["peak_rss_phases_apart"] = phases.apart
        if queries:
            first = queries[-1]  # not one the warm process searched first
            cold = {"data_dir": str(data_dir), "query": first.text, "scope": first.scope + suffix}
            result["cold"] = run_isolated({**config, "cold": cold})
            result["cold_rebuilt"] = run_isolated({**config, "cold": {**cold, "persist": False}})
    return result


def cold_open(config: dict[str, Any]) -> dict[str, Any]:
    """A fresh process opens a data dir another process wrote and runs one hybrid search.

    What a restarted server or a CLI call pays before its first answer. The embedder is
    made before the clock starts (a model's load time is not the data's); imports are
    timed apart, as they do not grow with the data.
    """
    began = time.perf_counter()
    from graphmem import Memory  # noqa: F401 - timed: what a fresh process imports first

    imported = time.perf_counter()
    cold = config["cold"]
    extractor, _infer = extraction_mode(config["extract"])
    embedder = make_embedder(config["embedder"])
    opened_at = time.perf_counter()
    memory = open_memory(Path(cold["data_dir"]), embedder, graph=config["graph"],
                         extractor=extractor, graph_options=config["graph_options"],
                         persist_indexes=cold.get("persist", True), **bounds(config))  # fmt: skip
    if not cold.get("persist", True):
        # A process that saves no indexes writes nothing either: its read counts, flushed
        # at its close, would leave every saved snapshot stale, and the next open of a
        # kept dir (``benchmarks.reopen``) rebuilt every scope it searched (222 s at 1M).
        memory.track_access = False
    try:
        opened = time.perf_counter()
        memory.search(cold["query"], user_id=cold["scope"], limit=10, recipe="hybrid")
        searched = time.perf_counter()
        memory.search(cold["query"], user_id=cold["scope"], limit=10, recipe="hybrid")
        again = time.perf_counter()
        serving = serve(memory, cold["query"], cold.get("serve", ()))
        snapshots = getattr(memory, "snapshots", None)
        loaded = snapshots.loaded if snapshots is not None else 0
    finally:
        memory.close()
    return {
        "import_s": imported - began,
        "open_s": opened - opened_at,
        "first_search_s": searched - opened,
        "open_and_first_search_s": searched - opened_at,
        "second_search_ms": (again - searched) * 1000.0,
        "indexes_loaded": loaded,  # from saved snapshots, not rebuilt from the stores
        "peak_rss_mb": peak_rss_mb(),
        **serving,
    }


def serve(memory: Any, query: str, scopes: Sequence[str]) -> dict[str, Any]:
    """One hybrid search in each of ``scopes`` after the cold open, and the resident memory
    after each: what a process serving every user of the dir holds, without the ingest
    that the speed suite's own peak RSS includes. Nothing when no scopes are given."""
    if not scopes:
        return {}
    started, seconds, rss = time.perf_counter(), [], []
    for scope in scopes:
        began = time.perf_counter()
        memory.search(query, user_id=scope, limit=10, recipe="hybrid")
        seconds.append(time.perf_counter() - began)
        rss.append(current_rss_mb())
    return {"serve_scopes": list(scopes), "serve_search_s": seconds, "serve_rss_mb": rss,
            "serve_s": time.perf_counter() - started, "serve_rss_parts_mb": rss_parts_mb()}  # fmt: skip


def last_share_rate(curve: list[tuple[int, float]], share: float = 0.1) -> float:
    """Memories per second over the last ``share`` of the ingest, in whole batches: from
    the last batch boundary at or before ``1 - share`` of the memories to the end."""
    if not curve:
        return float("nan")
    total, seconds = curve[-1]
    marks = [(n, s) for n, s in [(0, 0.0), *curve] if n <= (1 - share) * total]
    count, elapsed = total - marks[-1][0], seconds - marks[-1][1]
    return count / elapsed if elapsed > 0 else float("nan")


def largest_hub(facts: list[Any]) -> int:
    """Facts naming the most named city, language or pet name: the hubs a walk crosses
    ("where does X's brother live" goes through a city). Their number is fixed
    (``generator``), so the facts on each grow with the size."""
    from ..generator import CITIES, LANGUAGES, PET_NAMES

    known = {*CITIES, *LANGUAGES, *PET_NAMES}
    counts: dict[str, int] = {}
    for fact in facts:
        last = fact.text.rstrip(".").rsplit(" ", 1)[-1]
        if last in known:
            counts[last] = counts.get(last, 0) + 1
    return max(counts.values(), default=0)


def bounds(config: dict[str, Any]) -> dict[str, int]:
    """The bounds a run was given (``--index-max-scopes``, ``--graph-buffer-pool-mb``,
    ``--graph-checkpoint-mb``) as ``Config`` settings; those not given stay graphmem's."""
    names = ("index_max_scopes", "graph_buffer_pool_mb", "graph_checkpoint_mb")
    return {name: config[name] for name in names if config.get(name) is not None}


def current_rss_mb() -> float:
    """Resident memory of this process now (``peak_rss_mb`` is the high-water mark)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_parts_mb() -> dict[str, float]:
    """Resident memory now, split as the kernel counts it: anonymous (heap: Python objects,
    indexes, Kuzu's page cache) and file-backed (mapped files, reclaimable)."""
    parts = {"anon": 0.0, "file": 0.0, "shmem": 0.0}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                parts[key[3:].lower()] = int(value.split()[0]) / 1024.0
    return parts


def mapped_files_mb(data_dir: Path, top: int = 12) -> dict[str, float]:
    """The mapped files holding the most resident pages now, in MB, named from the data
    dir (``lib:`` for a library elsewhere): which store's files a process keeps in RAM."""
    found: dict[str, float] = {}
    name = ""
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            head, _, rest = line.partition(" ")
            if "-" in head and not head.endswith(":"):
                fields = rest.split(None, 4)
                name = fields[4].strip() if len(fields) > 4 else ""
            elif head == "Rss:" and name.startswith("/"):
                path = Path(name)
                key = (str(path.relative_to(data_dir)) if path.is_relative_to(data_dir)
                       else "lib:" + path.name)  # fmt: skip
                found[key] = found.get(key, 0.0) + int(rest.split()[0]) / 1024.0
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    return {key: round(mb, 1) for key, mb in ranked[:top] if mb >= 0.5}


def _graph_starts(data: Any, count: int, suffix: str = "") -> list[tuple[str, str]]:
    """People named in the relation facts, with their scope: where neighbour reads start."""
    starts = []
    for fact in data.facts:
        if "'s " in fact.text and len(starts) < count:
            starts.append((fact.text.split("'s ")[0], fact.scope + suffix))
    return starts


def _graph_latency(memory: Any, starts: list[tuple[str, str]]) -> dict[str, Any]:
    """1-hop and 2-hop neighbourhood reads from people named in the relation facts."""
    from graphmem.errors import NotFoundError

    out: dict[str, Any] = {"graph_missing_entities": 0}
    for depth in (1, 2):
        timings, sizes = [], []
        for name, scope in starts:
            began = time.perf_counter()
            try:
                found = memory.graph.neighbours(name, depth=depth, user_id=scope)
            except NotFoundError:
                out["graph_missing_entities"] += depth == 1
                continue
            timings.append(time.perf_counter() - began)
            sizes.append(len(found))
        out[f"hop{depth}_ms"] = percentiles_ms(timings)
        out[f"hop{depth}_mean_neighbours"] = sum(sizes) / len(sizes) if sizes else float("nan")
    return out


def run_isolated(config: dict[str, Any], cwd: Path = REPO_ROOT) -> dict[str, Any]:
    """``measure`` or ``cold_open`` in a fresh process, run by the graphmem checkout at
    ``cwd`` (``benchmarks/reopen.py`` runs other trees' too)."""
    with tempfile.TemporaryDirectory(prefix="graphmem-speed-io-") as scratch:
        request, answer = Path(scratch) / "config.json", Path(scratch) / "result.json"
        request.write_text(json.dumps(config), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.suites.speed", str(request), str(answer)],
            cwd=cwd,
            check=False,
        )
        if done.returncode != 0 or not answer.is_file():
            what = "cold open after " if "cold" in config else ""
            raise BenchmarkError(
                f"{what}speed run {config['size']}/{config['embedder']} failed "
                f"(exit {done.returncode}); see its output above"
            )
        return json.loads(answer.read_text(encoding="utf-8"))


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median ingest rate (its searches too), plus every run's rate."""
    ordered = sorted(results, key=lambda r: r["ingest_per_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["ingest_per_s_runs"] = [r["ingest_per_s"] for r in ordered]
    return chosen


def run(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",") if s]
    embedders = [e for e in args.embedders.split(",") if e]
    graph_options = {
        "neo4j_uri": args.neo4j_uri,
        "neo4j_user": args.neo4j_user,
        "neo4j_password": args.neo4j_password,
        "neo4j_database": args.neo4j_database,
    }
    runs: list[dict[str, Any]] = []
    skipped: list[str] = []
    failed: list[str] = []
    # Smallest size first, every embedder at it, so the quick figures arrive first.
    for size in sizes:
        for embedder in embedders:
            if embedder == "local" and size > args.local_max_size:
                skipped.append(f"{embedder} at {size:,} (above --local-max-size)")
                continue
            config = {
                "size": size,
                "embedder": embedder,
                "scopes": args.scopes,
                "extract": args.extract,
                "recipes": args.recipes.split(","),
                "queries": args.queries,
                "graph_queries": args.graph_queries,
                "batch_size": args.batch_size,
                "graph": args.graph,
                "graph_options": graph_options,
                "seed": args.seed,
                "access_tracking": args.access_tracking,
                "index_max_scopes": args.index_max_scopes,
                "graph_buffer_pool_mb": args.graph_buffer_pool_mb,
                "graph_checkpoint_mb": args.graph_checkpoint_mb,
                "keep_data": args.keep_data,
            }
            print(f"speed: {size:,} memories, embedder {embedder}", file=sys.stderr, flush=True)
            try:
                repeats = args.repeats if size <= args.repeat_max_size else 1
                runs.append(median_run([run_isolated(config) for _ in range(repeats)]))
            except BenchmarkError as error:
                failed.append(str(error))
            # Rewritten after every configuration: a 100k run takes many minutes on a server,
            # and the smaller sizes' figures must survive if it is stopped.
            _report(args, runs, skipped, failed, embedders)
    if failed:
        raise BenchmarkError("; ".join(failed))
    return 0


if __name__ == "__main__":
    # Worker entry: ``python -m benchmarks.suites.speed CONFIG.json RESULT.json``.
    request_path, answer_path = Path(sys.argv[1]), Path(sys.argv[2])
    request = json.loads(request_path.read_text(encoding="utf-8"))
    outcome = cold_open(request) if "cold" in request else measure(request)
    answer_path.write_text(json.dumps(outcome), encoding="utf-8")
