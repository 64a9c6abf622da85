"""Suite ``synthetic``: multi-hop chains, knowledge updates and scope isolation at scale.

The data comes from ``benchmarks.generator``, so every right answer, every superseded
fact and every memory's scope is known independently of graphmem. Reported per question
kind and recipe: recall@k and all-gold@10 (hybrid beside vector-only), whether the current
value ever loses to the superseded one, whether top scores separate unanswerable
questions, and the number of hits from a foreign scope, which must be zero.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..generator import KINDS, SyntheticData, SyntheticQuestion, generate
from ..metrics import DEFAULT_KS, auroc, mean_scores, percentiles_ms, score_ranking
from ..report import Table, default_out, plot_lines, write_raw, write_results
from ..runtime import (
    EMBEDDERS,
    EXTRACTORS,
    BenchmarkError,
    CachingEmbedder,
    batched,
    dir_size_mb,
    extraction_mode,
    make_embedder,
    open_memory,
    progress,
)

SCORED = ("hop1", "hop2", "hop3", "update")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--facts", type=int, default=10_000, help="facts in total")
    parser.add_argument("--scopes", type=int, default=10, help="memory scopes (user_ids)")
    parser.add_argument("--questions", type=int, default=200, help="questions per kind")
    parser.add_argument("--embedder", choices=EMBEDDERS, default="local")
    parser.add_argument(
        "--extract",
        choices=EXTRACTORS,
        default="offline",
        help="offline (default) builds the graph the hop questions need",
    )
    parser.add_argument("--graph", default="kuzu")
    parser.add_argument("--recipes", default="vector,graph,hybrid")
    parser.add_argument("--batch-size", type=int, default=1000, help="facts per add_many")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="", help="data dir to keep (default: temporary)")
    parser.add_argument("--out", default="", help="results dir (default results/synthetic)")


def ingest(memory: Any, data: SyntheticData, infer: bool, batch_size: int) -> dict[str, Any]:
    by_scope: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fact in data.facts:
        by_scope[fact.scope].append(
            {"text": fact.text, "source_ids": [fact.source_id], "timestamp": fact.timestamp}
        )
    for items in by_scope.values():
        # Each scope's history in time order, as a user importing a log would add it: an
        # update then arrives after the fact it supersedes (in the same batch or a later one).
        items.sort(key=lambda item: item["timestamp"])
    owner: dict[str, str] = {}
    started = time.perf_counter()
    chunks = [
        (scope, chunk) for scope, items in by_scope.items() for chunk in batched(items, batch_size)
    ]
    for scope, chunk in progress(chunks, total=len(chunks), desc="ingest batches"):
        for fact in memory.add_many(list(chunk), user_id=scope, infer=infer):
            owner[fact.id] = scope
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "facts": len(data.facts),
        "memories_stored": len(owner),
        "facts_per_s": len(data.facts) / seconds if seconds else float("nan"),
        "owner": owner,
    }


def _first_rank(ranking: list[list[str]], source_id: str) -> int | None:
    return next((rank for rank, items in enumerate(ranking, 1) if source_id in items), None)


def judge(question: SyntheticQuestion, hits: list[Any], owner: dict[str, str]) -> dict[str, Any]:
    """One question's outcome for one recipe: scores, update order, top score, leaks."""
    ranking = [list(hit.source_ids) for hit in hits]
    leaks = sum(
        (owner.get(hit.memory_id, question.scope) != question.scope)
        or any(not s.startswith(question.scope + "/") for s in hit.source_ids)
        for hit in hits
    )
    outcome: dict[str, Any] = {
        "kind": question.kind,
        "leaks": int(leaks),
        "ranking": ranking,
        "top_score": float(hits[0].score) if hits else float("-inf"),
        # Fused scores are normalised per query (the top is always the same value), so the
        # raw cosine of the best hit is the signal a caller could use to abstain.
        "top_cosine": max((float(h.score_parts.get("cosine", -1.0)) for h in hits), default=-1.0),
    }
    if question.gold:
        outcome["scores"] = score_ranking(ranking, question.gold)
    if question.superseded:
        current = _first_rank(ranking, question.gold[0])
        old = _first_rank(ranking, question.superseded)
        # Lost = the superseded fact is ranked and the current one is not, or is lower.
        outcome["superseded_above_current"] = old is not None and (current is None or old < current)
        outcome["current_rank"] = current
    return outcome


def summarise(outcomes: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for recipe, rows in outcomes.items():
        kinds: dict[str, Any] = {}
        for kind in SCORED:
            members = [r for r in rows if r["kind"] == kind and "scores" in r]
            if members:
                kinds[kind] = {"n": len(members), **mean_scores([r["scores"] for r in members])}
        updates = [r for r in rows if r["kind"] == "update"]
        answerable = [r for r in rows if "scores" in r and r["kind"] != "update"]
        unanswerable = [r for r in rows if r["kind"] == "unanswerable"]
        summary[recipe] = {
            "by_kind": kinds,
            "updates": len(updates),
            "superseded_above_current": sum(r["superseded_above_current"] for r in updates),
            "current_beats_superseded_rate": (
                1.0 - sum(r["superseded_above_current"] for r in updates) / len(updates)
                if updates
                else float("nan")
            ),
            "current_at_1": (
                sum(r["current_rank"] == 1 for r in updates) / len(updates)
                if updates
                else float("nan")
            ),
            "unanswerable_auroc_top_score": auroc(
                [r["top_score"] for r in answerable], [r["top_score"] for r in unanswerable]
            ),
            "unanswerable_auroc_top_cosine": auroc(
                [r["top_cosine"] for r in answerable], [r["top_cosine"] for r in unanswerable]
            ),
            "leaks": sum(r["leaks"] for r in rows),
        }
    return summary


def run(args: argparse.Namespace) -> int:
    recipes = [r for r in args.recipes.split(",") if r]
    started = time.perf_counter()
    data = generate(args.facts, args.scopes, args.questions, args.seed)
    generated = time.perf_counter() - started
    extractor, infer = extraction_mode(args.extract)
    embedder = CachingEmbedder(make_embedder(args.embedder))
    embedder.warm([q.text for q in data.questions])
    outcomes: dict[str, list[dict[str, Any]]] = {recipe: [] for recipe in recipes}
    latencies: dict[str, list[float]] = {recipe: [] for recipe in recipes}
    with tempfile.TemporaryDirectory(prefix="graphmem-synthetic-") as scratch:
        data_dir = Path(args.workdir) if args.workdir else Path(scratch) / "data"
        memory = open_memory(data_dir, embedder, graph=args.graph, extractor=extractor)
        try:
            ingested = ingest(memory, data, infer, args.batch_size)
            for question in progress(data.questions, len(data.questions), "questions"):
                for recipe in recipes:
                    began = time.perf_counter()
                    hits = memory.search(
                        question.text, user_id=question.scope, limit=max(DEFAULT_KS), recipe=recipe
                    )
                    latencies[recipe].append(time.perf_counter() - began)
                    outcomes[recipe].append(judge(question, hits, ingested["owner"]))
        finally:
            memory.close()
        disk_mb = dir_size_mb(data_dir)
    summary = summarise(outcomes)
    timings = {
        "generate_seconds": generated,
        "ingest_seconds": ingested["seconds"],
        "facts_per_s": ingested["facts_per_s"],
        "memories_stored": ingested["memories_stored"],
        "data_dir_mb": disk_mb,
        "search_ms": {r: percentiles_ms(latencies[r]) for r in recipes},
        "total_seconds": time.perf_counter() - started,
    }
    out_dir = (
        Path(args.out)
        if args.out
        else default_out(
            "synthetic",
            f"{args.facts}-facts" if args.facts != 10_000 else "",
            args.embedder if args.embedder != "local" else "",
            f"extract-{args.extract}" if args.extract != "offline" else "",
            args.graph if args.graph != "kuzu" else "",
        )
    )
    write_raw(
        "synthetic",
        f"outcomes-{args.facts}",
        [{"recipe": r, **o} for r, rows in outcomes.items() for o in rows],
        out_dir,
    )
    plot_lines(
        out_dir / f"recall_at_k_{args.facts}.png",
        {
            f"{r} {kind}": {k: summary[r]["by_kind"][kind][f"recall@{k}"] for k in DEFAULT_KS}
            for r in recipes
            for kind in ("hop1", "hop2", "hop3")
            if kind in summary[r]["by_kind"]
        },
        title=f"Synthetic recall@k, {args.facts:,} facts",
        xlabel="k",
        ylabel="recall@k",
    )
    config = {key: value for key, value in vars(args).items() if key != "handler"}
    preamble = [
        f"{args.facts:,} facts in {args.scopes} scopes, {args.questions} questions per kind "
        f"({', '.join(KINDS)}), seed {args.seed}",
        f"embedder {args.embedder}, extract {args.extract}, graph {args.graph}",
        f"ingest {ingested['seconds']:.1f} s ({ingested['facts_per_s']:.0f} facts/s), "
        f"whole run {timings['total_seconds']:.0f} s",
    ]
    leaks = sum(summary[r]["leaks"] for r in recipes)
    write_results(
        "synthetic",
        {"summary": summary, "timings": timings},
        tables(summary, timings),
        config,
        out_dir,
        preamble,
    )
    if leaks:
        raise BenchmarkError(f"{leaks} hits crossed scopes: results written, run invalid")
    return 0


def tables(summary: dict[str, Any], timings: dict[str, Any]) -> list[Table]:
    recipes = list(summary)
    side_by_side = Table(
        "Recall by question kind (recipes side by side)",
        [
            "kind",
            "n",
            *[f"{r} {m}" for r in recipes for m in ("recall@5", "recall@10", "all_gold@10")],
        ],
    )
    for kind in SCORED:
        cells = [summary[r]["by_kind"].get(kind, {}) for r in recipes]
        side_by_side.rows.append(
            [kind, cells[0].get("n", 0)]
            + [
                cell.get(metric, float("nan"))
                for cell in cells
                for metric in ("recall@5", "recall@10", "all_gold@10")
            ]
        )
    checks = Table(
        "Updates, unanswerable questions, isolation, latency",
        [
            "recipe",
            "updates",
            "superseded above current",
            "current wins rate",
            "current @1",
            "AUROC top score",
            "AUROC top cosine",
            "leaks",
            "search p50 ms",
            "search p95 ms",
        ],
        note="AUROC: does the best hit's score separate answerable from unanswerable "
        "questions (0.5 = not at all). Latency excludes the (cached) query embedding.",
    )
    for recipe in recipes:
        item = summary[recipe]
        latency = timings["search_ms"][recipe]
        checks.rows.append(
            [
                recipe,
                item["updates"],
                item["superseded_above_current"],
                item["current_beats_superseded_rate"],
                item["current_at_1"],
                item["unanswerable_auroc_top_score"],
                item["unanswerable_auroc_top_cosine"],
                item["leaks"],
                latency["p50"],
                latency["p95"],
            ]
        )
    return [side_by_side, checks]
