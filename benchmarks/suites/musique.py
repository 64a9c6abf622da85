"""Suite ``musique``: multi-hop passage retrieval on musique-dev, graphs from a real LLM.

One memory scope; every passage (``title + "\\n" + text``) is added with its passage id
in ``source_ids``, once per ingest mode, each mode in its own data directory:

- ``llm``: ``Memory.add(passage, infer=True)`` with the LLM extractor pointed at a local
  OpenAI-compatible server that replays gpt-3.5-turbo's recorded extraction of that
  passage (``benchmarks.musique``): one extraction call per passage through the real
  ``openai`` client;
- ``offline``: ``Memory.add(passage, infer=True)`` with the offline extractor;
- ``none``: ``add(passage, infer=False)``: the passage stored whole.

BM25, dense exact cosine and two weighted score fusions run over the passage texts in the
same process, with the same embedder object. A question is scored on the distinct
passages its hits come from (a passage counts once, at its best hit's rank): recall@2/5/10
of the gold passages and all-gold@5, per hop count. Latencies include embedding the
query: each method embeds it itself, uncached, as a user's search would.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from ..baselines import BM25Index, DenseIndex, top_k, weighted_fusion
from ..metrics import all_gold_at_k, mean_scores, percentiles_ms, recall_at_k
from ..musique import (
    MusiqueData,
    MusiqueQuestion,
    ReplayModel,
    bundled,
    distinct_sources,
    load_musique,
)
from ..report import Table, default_out, plot_lines, write_raw, write_results
from ..runtime import (
    EMBEDDERS,
    BenchmarkError,
    dir_size_mb,
    make_embedder,
    open_memory,
    progress,
    resolve_data_path,
)

RECIPES = ("vector", "keyword", "text", "graph", "hybrid")
MODES = ("llm", "offline", "none")
KS = (2, 5, 10)
BASELINES = ("bm25", "dense", "bm25+dense", "bm25+dense 0.7")
SCOPE = "musique"
# Hits asked of graphmem per question: a passage yields ~9 facts under the LLM path, so 10
# distinct passages need more than 10 hits.
HITS = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="../shared/datasets/musique-dev",
                        help="the musique-dev folder (relative paths: from the repo root)")  # fmt: skip
    parser.add_argument("--extractor", default=",".join(MODES),
                        help="ingest modes, comma-separated: llm (recorded extractions "
                             "replayed), offline, none (passages stored whole)")  # fmt: skip
    parser.add_argument("--embedder", choices=EMBEDDERS, default="local")
    parser.add_argument("--graph", default="kuzu")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--passages", type=int, default=0,
                        help="only the first N passages plus every gold one (0 = all)")  # fmt: skip
    parser.add_argument("--per-memory", type=int, default=1,
                        help="passages joined into one memory (shuffled, seed 0): long "
                             "memories whose gold may sit past the embedder's window")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=100, help="passages per add_many")
    parser.add_argument("--workdir", default="", help="keep data dirs here (default: temporary)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --workdir: search the data a previous run ingested there")  # fmt: skip
    parser.add_argument("--out", default="", help="results dir (default results/musique)")


def score(ranking: list[list[str]], gold: tuple[str, ...]) -> dict[str, float]:
    """The suite's metrics for one question's ranking of distinct passages."""
    out = {f"recall@{k}": recall_at_k(ranking, gold, k) for k in KS}
    out["all_gold@5"] = all_gold_at_k(ranking, gold, 5)
    return out


def summarise(rows: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per method: means over all questions and per hop count (``2hop``, ``3hop``...)."""
    hops = sorted({row["hops"] for row in rows})
    out: dict[str, Any] = {}
    for method in methods:
        out[method] = {"all": {"n": len(rows), **mean_scores([r["scores"][method] for r in rows])}}
        for hop in hops:
            members = [r["scores"][method] for r in rows if r["hops"] == hop]
            out[method][hop] = {"n": len(members), **mean_scores(members)}
    return out


def select(data: MusiqueData, count: int) -> MusiqueData:
    """The first ``count`` passages and every gold one (0: all), for quick runs."""
    if count <= 0:
        return data
    gold = {int(g) for q in data.questions for g in q.gold}
    kept = [p for i, p in enumerate(data.passages) if i < count or p.id in gold]
    return MusiqueData(kept, data.questions, data.extractions)


def ingest(memory: Any, data: MusiqueData, infer: bool, batch: int) -> dict[str, Any]:
    """``add_many`` in batches: the same per-passage extraction call as ``add`` (one per
    passage), with the embeddings and store writes of a batch done together."""
    started = time.perf_counter()
    stored = 0
    items = [{"text": p.memory, "source_ids": p.source_ids} for p in data.passages]
    chunks = [items[i : i + batch] for i in range(0, len(items), batch)]
    for chunk in progress(chunks, total=len(chunks), desc="ingest batches"):
        stored += len(memory.add_many(chunk, user_id=SCOPE, infer=infer).facts)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "passages": len(data.passages), "memories": stored,
            "passages_per_s": len(data.passages) / seconds if seconds else math.nan}  # fmt: skip


def run_mode(mode: str, data: MusiqueData, embedder: Any, args: argparse.Namespace,
             recipes: list[str], workdir: Path) -> dict[str, Any]:  # fmt: skip
    """Ingest in one mode, then ask every question of every recipe."""
    server = None
    replay = ReplayModel(data) if mode == "llm" else None
    options: dict[str, Any] = {}
    if replay is not None:
        from graphmem.testing import OpenAIServer

        server = OpenAIServer(handler=replay).start()
        options = {"llm_base_url": server.base_url, "llm_api_key": "replay",
                   "llm_model": "gpt-3.5-turbo-1106 (recorded)"}  # fmt: skip
    extractor = {"llm": "llm", "offline": "offline", "none": None}[mode]
    try:
        memory = open_memory(workdir / mode, embedder, graph=args.graph, extractor=extractor,
                             graph_options=options)  # fmt: skip
        try:
            marker = workdir / f"{mode}-ingest.json"
            if args.reuse and marker.is_file():  # searched again, as ingested before
                ingested = json.loads(marker.read_text())
            else:
                ingested = ingest(memory, data, mode != "none", args.batch_size)
                ingested["llm_calls"] = dict(replay.calls) if replay else {}
                marker.write_text(json.dumps(ingested))
            stats = memory.stats(user_id=SCOPE) if hasattr(memory, "stats") else {}
            rankings, latencies = ask(memory, data.questions, recipes)
        finally:
            memory.close()
    finally:
        if server is not None:
            server.stop()
    if ingested["llm_calls"].get("unknown"):
        raise BenchmarkError(
            f"{ingested['llm_calls']['unknown']} extraction requests named no corpus passage"
        )
    ingested["disk_mb"] = dir_size_mb(workdir / mode)
    ingested["stats"] = _plain(stats)
    return {"ingest": ingested, "rankings": rankings, "latencies": latencies}


def _plain(stats: Any) -> Any:
    return stats if isinstance(stats, dict | list | int | float | str) else str(stats)


def ask(memory: Any, questions: list[MusiqueQuestion], recipes: list[str]):
    rankings: dict[str, dict[str, list[list[str]]]] = {r: {} for r in recipes}
    latencies: dict[str, list[float]] = {r: [] for r in recipes}
    for question in progress(questions, total=len(questions), desc="questions"):
        for recipe in recipes:
            started = time.perf_counter()
            hits = memory.search(question.question, user_id=SCOPE, limit=HITS, recipe=recipe)
            latencies[recipe].append(time.perf_counter() - started)
            sources = [list(hit.source_ids) for hit in hits]
            rankings[recipe][question.id] = distinct_sources(sources, max(KS))
    return rankings, latencies


def baselines(data: MusiqueData, embedder: Any):
    texts = [p.memory for p in data.passages]
    ids = [p.source_ids for p in data.passages]
    bm25, dense = BM25Index(texts), DenseIndex(embedder, texts)
    rankings: dict[str, dict[str, list[list[str]]]] = {b: {} for b in BASELINES}
    latencies: dict[str, list[float]] = {b: [] for b in BASELINES}
    for question in data.questions:
        for method in BASELINES:
            started = time.perf_counter()
            if method == "bm25":
                found = bm25.search(question.question, max(KS))
            elif method == "dense":
                found = dense.search(question.question, max(KS))
            else:
                weight = 0.7 if method.endswith("0.7") else 0.5
                fused = weighted_fusion(dense.scores(question.question),
                                        bm25.scores(question.question), weight)  # fmt: skip
                found = top_k(fused, max(KS))
            latencies[method].append(time.perf_counter() - started)
            rankings[method][question.id] = [ids[doc] for doc, _ in found]
    return rankings, latencies


def run(args: argparse.Namespace) -> int:
    data = bundled(select(load_musique(resolve_data_path(args.data)), args.passages),
                   args.per_memory)  # fmt: skip
    modes = [m for m in args.extractor.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise BenchmarkError(f"--extractor {args.extractor!r}: choose from {', '.join(MODES)}")
    recipes = [r for r in args.recipes.split(",") if r]
    embedder = make_embedder(args.embedder)
    embedder.embed(["warm the model up"])  # loading the model is no query's cost
    started = time.perf_counter()
    base_rankings, base_latencies = baselines(data, embedder)
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="graphmem-musique-") as scratch:
        workdir = Path(args.workdir) if args.workdir else Path(scratch)
        for mode in modes:
            runs[mode] = run_mode(mode, data, embedder, args, recipes, workdir)
    total = time.perf_counter() - started

    methods = list(BASELINES) + [f"{m}:{r}" for m in modes for r in recipes]
    rankings = dict(base_rankings)
    latencies = dict(base_latencies)
    for mode, result in runs.items():
        for recipe in recipes:
            rankings[f"{mode}:{recipe}"] = result["rankings"][recipe]
            latencies[f"{mode}:{recipe}"] = result["latencies"][recipe]
    rows = [{"id": q.id, "hops": q.hop_count, "gold": list(q.gold),
             "rankings": {m: rankings[m][q.id] for m in methods},
             "scores": {m: score(rankings[m][q.id], q.gold) for m in methods}}
            for q in data.questions]  # fmt: skip
    summary = summarise(rows, methods)
    latency = {m: percentiles_ms(latencies[m]) for m in methods}
    results = {
        "passages": len(data.passages),
        "questions": len(data.questions),
        "hops": dict(
            sorted(
                {h: sum(r["hops"] == h for r in rows) for h in {r["hops"] for r in rows}}.items()
            )
        ),  # fmt: skip
        "scores": summary,
        "latency_ms": latency,
        "ingest": {mode: result["ingest"] for mode, result in runs.items()},
        "total_seconds": total,
    }
    out_dir = Path(args.out) if args.out else default_out(
        "musique", args.embedder if args.embedder != "local" else "",
        f"{args.passages}-passages" if args.passages else "",
        f"{args.per_memory}-per-memory" if args.per_memory > 1 else "")  # fmt: skip
    write_raw("musique", "questions", rows, out_dir)
    plot_lines(out_dir / "recall_at_k.png",
               {m: {k: summary[m]["all"][f"recall@{k}"] for k in KS} for m in methods
                if m in BASELINES or m.endswith((":hybrid", ":vector", ":text"))},
               title="musique-dev passage recall@k", xlabel="k", ylabel="recall@k")  # fmt: skip
    preamble = [
        f"data: {len(data.passages)} memories of {args.per_memory} passage(s), "
        f"{len(data.questions)} questions "
        f"{results['hops']}; embedder {args.embedder}, graph {args.graph}",
        "a question is scored on the distinct passages of its hits; latencies include "
        "embedding the query",
        *[f"ingest {mode}: {r['ingest']['seconds']:.0f} s, {r['ingest']['memories']} memories, "
          f"LLM calls {r['ingest']['llm_calls'] or 'none'}" for mode, r in runs.items()],
        f"whole run {total:.0f} s",
    ]  # fmt: skip
    found = tables(summary, latency, methods) + against_whole(summary, modes, recipes)
    write_results("musique", results, found, vars_of(args), out_dir, preamble)
    return 0


def vars_of(args: argparse.Namespace) -> dict[str, Any]:
    return {key: value for key, value in vars(args).items() if key != "handler"}


def tables(summary: dict[str, Any], latency: dict[str, Any], methods: list[str]) -> list[Table]:
    main = Table("All questions", ["method", *[f"R@{k}" for k in KS], "all-gold@5",
                                   "p50 ms", "p95 ms"])  # fmt: skip
    for m in methods:
        row = summary[m]["all"]
        main.rows.append([m, *[row[f"recall@{k}"] for k in KS], row["all_gold@5"],
                          latency[m]["p50"], latency[m]["p95"]])  # fmt: skip
    hops = [h for h in summary[methods[0]] if h != "all"]
    by_hop = Table("By hop count: R@5 / all-gold@5", ["method", *[
        f"{h} (n={summary[methods[0]][h]['n']})" for h in hops]])  # fmt: skip
    for m in methods:
        by_hop.rows.append([m, *[f"{summary[m][h]['recall@5']:.3f} / "
                                 f"{summary[m][h]['all_gold@5']:.3f}" for h in hops]])  # fmt: skip
    checks = Table("The graph's share (issue 12), per ingest mode",
                   ["mode", "hybrid - dense all-gold@5", "hybrid - dense R@5",
                    "hybrid - text R@5", "hybrid p95 / vector p95"])  # fmt: skip
    for mode in dict.fromkeys(m.split(":")[0] for m in methods if ":" in m):
        hybrid, text, vector = (f"{mode}:{r}" for r in ("hybrid", "text", "vector"))
        if not all(r in summary for r in (hybrid, text, vector)):
            continue
        h, d, t = summary[hybrid]["all"], summary["dense"]["all"], summary[text]["all"]
        checks.rows.append([mode, f"{h['all_gold@5'] - d['all_gold@5']:+.3f}",
                            f"{h['recall@5'] - d['recall@5']:+.3f}",
                            f"{h['recall@5'] - t['recall@5']:+.3f}",
                            latency[hybrid]["p95"] / latency[vector]["p95"]])  # fmt: skip
    return [main, by_hop, checks]


def against_whole(summary: dict[str, Any], modes: list[str], recipes: list[str]) -> list[Table]:
    """Issue 21: each extracting mode (the default ``add()``) beside passages stored whole."""
    if "none" not in modes:
        return []
    table = Table("Default add() against passages stored whole (none)",
                  ["method", "R@5", "whole R@5", "difference", "all-gold@5", "whole all-gold@5",
                   "difference"])  # fmt: skip
    for mode in (m for m in modes if m != "none"):
        for recipe in recipes:
            ours, whole = summary[f"{mode}:{recipe}"]["all"], summary[f"none:{recipe}"]["all"]
            table.rows.append([f"{mode}:{recipe}", ours["recall@5"], whole["recall@5"],
                               f"{ours['recall@5'] - whole['recall@5']:+.3f}",
                               ours["all_gold@5"], whole["all_gold@5"],
                               f"{ours['all_gold@5'] - whole['all_gold@5']:+.3f}"])  # fmt: skip
    return [table]
