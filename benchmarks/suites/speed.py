"""Suite ``speed``: ingest throughput, search and graph latency, memory and disk by size.

Each (size, embedder) configuration runs in its own Python process: peak RSS from
``getrusage`` is a per-process high-water mark, so sharing a process would report the
largest run for every later one; and Kuzu wants one read-write database per process.
The hashing embedder isolates the engine (embedding costs next to nothing); the local
model shows what a user of the default pays. Data comes from ``benchmarks.generator``,
all in one scope by default, as the "10k memories in one scope" target is stated.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ..generator import generate
from ..metrics import percentiles_ms
from ..report import Table, default_out, plot_lines, write_results
from ..runtime import (
    EMBEDDERS,
    EXTRACTORS,
    REPO_ROOT,
    BenchmarkError,
    batched,
    dir_size_mb,
    extraction_mode,
    make_embedder,
    open_memory,
    peak_rss_mb,
    progress,
)

WARM_UP = 5  # first searches load caches and indexes; they are not what a user waits for


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
    parser.add_argument("--out", default="", help="results dir (default results/speed)")


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
    with tempfile.TemporaryDirectory(prefix="graphmem-speed-") as scratch:
        data_dir = Path(scratch) / "data"
        memory = open_memory(
            data_dir,
            embedder,
            graph=config["graph"],
            extractor=extractor,
            graph_options=config["graph_options"],
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
            written = 0
            started = time.perf_counter()
            for scope, chunk in progress(chunks, len(chunks), f"ingest {size}"):
                added = memory.add_many(
                    list(chunk), user_id=scope, infer=infer, batch_size=config["batch_size"]
                )
                written += len(added.facts)
            seconds = time.perf_counter() - started
            result["memories_written"] = written
            result["ingest_seconds"] = seconds
            result["ingest_per_s"] = size / seconds if seconds else float("nan")
            queries = [q for q in data.questions if q.kind in ("hop1", "hop2", "hop3")]
            result["search_ms"] = {}
            for recipe in config["recipes"]:
                timings = []
                for number, question in enumerate(queries[: config["queries"] + WARM_UP]):
                    began = time.perf_counter()
                    memory.search(
                        question.text, user_id=question.scope + suffix, limit=10, recipe=recipe
                    )
                    if number >= WARM_UP:
                        timings.append(time.perf_counter() - began)
                result["search_ms"][recipe] = percentiles_ms(timings)
            result.update(_graph_latency(memory, data, config["graph_queries"], suffix))
        finally:
            memory.close()
        result["disk_mb"] = dir_size_mb(data_dir)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def _graph_latency(memory: Any, data: Any, count: int, suffix: str = "") -> dict[str, Any]:
    """1-hop and 2-hop neighbourhood reads from people named in the relation facts."""
    from graphmem.errors import NotFoundError

    starts = []
    for fact in data.facts:
        if "'s " in fact.text and len(starts) < count:
            starts.append((fact.text.split("'s ")[0], fact.scope + suffix))
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


def _run_isolated(config: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="graphmem-speed-io-") as scratch:
        request, answer = Path(scratch) / "config.json", Path(scratch) / "result.json"
        request.write_text(json.dumps(config), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.suites.speed", str(request), str(answer)],
            cwd=REPO_ROOT,
            check=False,
        )
        if done.returncode != 0 or not answer.is_file():
            raise BenchmarkError(
                f"speed run {config['size']}/{config['embedder']} failed "
                f"(exit {done.returncode}); see its output above"
            )
        return json.loads(answer.read_text(encoding="utf-8"))


def median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median ingest rate (its searches too), plus every run's rate."""
    ordered = sorted(results, key=lambda r: r["ingest_per_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["ingest_per_s_runs"] = [r["ingest_per_s"] for r in ordered]
    return chosen


def _rate_range(run: dict[str, Any]) -> str:
    rates = run.get("ingest_per_s_runs") or [run["ingest_per_s"]]
    return f"{min(rates):,.0f}-{max(rates):,.0f} ({len(rates)} runs)"


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
            }
            print(f"speed: {size:,} memories, embedder {embedder}", file=sys.stderr, flush=True)
            try:
                repeats = args.repeats if size <= args.repeat_max_size else 1
                runs.append(median_run([_run_isolated(config) for _ in range(repeats)]))
            except BenchmarkError as error:
                failed.append(str(error))
            # Rewritten after every configuration: a 100k run takes many minutes on a server,
            # and the smaller sizes' figures must survive if it is stopped.
            _report(args, runs, skipped, failed, embedders)
    if failed:
        raise BenchmarkError("; ".join(failed))
    return 0


def _report(
    args: argparse.Namespace,
    runs: list[dict[str, Any]],
    skipped: list[str],
    failed: list[str],
    embedders: list[str],
) -> None:
    out_dir = (
        Path(args.out)
        if args.out
        else default_out("speed", args.graph if args.graph != "kuzu" else "")
    )
    recipes = args.recipes.split(",")
    for metric in ("p50", "p95"):
        series = {
            f"{e} {recipe}": {
                r["size"]: r["search_ms"][recipe][metric] for r in runs if r["embedder"] == e
            }
            for e in embedders
            for recipe in recipes
        }
        plot_lines(
            out_dir / f"search_{metric}_vs_size.png",
            {name: points for name, points in series.items() if points},
            title=f"search latency {metric} vs size",
            xlabel="memories",
            ylabel="ms",
            logx=True,
        )
    plot_lines(
        out_dir / "ingest_vs_size.png",
        {e: {r["size"]: r["ingest_per_s"] for r in runs if r["embedder"] == e} for e in embedders},
        title="ingest throughput vs size",
        xlabel="memories",
        ylabel="memories/s",
        logx=True,
    )
    table = Table(
        "Speed by size and embedder",
        [
            "embedder",
            "memories",
            "written",
            "ingest /s (median)",
            "ingest /s range",
            "ingest s",
            *[f"{r} p50/p95 ms" for r in recipes],
            "1-hop p50 ms",
            "2-hop p50 ms",
            "peak RSS MB",
            "disk MB",
        ],
    )
    for r in runs:
        table.rows.append(
            [
                r["embedder"],
                r["size"],
                r.get("memories_written", "-"),
                r["ingest_per_s"],
                _rate_range(r),
                r["ingest_seconds"],
                *[
                    f"{r['search_ms'][x]['p50']:.1f} / {r['search_ms'][x]['p95']:.1f}"
                    for x in recipes
                ],
                r["hop1_ms"]["p50"],
                r["hop2_ms"]["p50"],
                r["peak_rss_mb"],
                r["disk_mb"],
            ]
        )
    checks = Table("Against the issue's targets", ["check", "measured", "met"])
    for r in runs:
        if r["embedder"] == "hash":
            checks.rows.append(
                [
                    f"ingest >= 2,000/s, hash, {r['size']:,}",
                    r["ingest_per_s"],
                    r["ingest_per_s"] >= 2000,
                ]
            )
        if r["size"] == 10_000 and "hybrid" in r["search_ms"]:
            p95 = r["search_ms"]["hybrid"]["p95"]
            checks.rows.append([f"hybrid p95 <= 50 ms at 10k, {r['embedder']}", p95, p95 <= 50])
    preamble = [
        f"graph {args.graph}, extract {args.extract}, {args.scopes} scope(s), "
        f"{args.queries} timed searches per recipe after {WARM_UP} warm-up",
        "written: memories the ingest stored; a run that finds them already stored times "
        "nothing, so with extract none it must equal memories (extraction may merge or "
        "skip sentences)",
        *(
            []
            if args.graph == "kuzu"
            else [
                "each run writes scopes of its own on the server (suffix in results.json); "
                "disk MB is the local data directory only (vectors, history), not the server's"
            ]
        ),
        *[f"skipped: {s}" for s in skipped],
        *[f"FAILED: {f}" for f in failed],
    ]
    config = {k: v for k, v in vars(args).items() if k not in ("handler", "neo4j_password")}
    results = {"runs": runs, "skipped": skipped, "failed": failed}
    write_results("speed", results, [table, checks], config, out_dir, preamble)


if __name__ == "__main__":
    # Worker entry: ``python -m benchmarks.suites.speed CONFIG.json RESULT.json``.
    request_path, answer_path = Path(sys.argv[1]), Path(sys.argv[2])
    outcome = measure(json.loads(request_path.read_text(encoding="utf-8")))
    answer_path.write_text(json.dumps(outcome), encoding="utf-8")
