"""``results/README.md``: the headline numbers of every stored run, rebuilt from the JSON.

Written from ``results.json`` files rather than by hand, so the README cannot drift from
the runs it describes; each section names the run's date, commit and configuration.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .machine import describe
from .report import RESULTS_ROOT, Table
from .search_latency import store_cell


def _locomo(results: dict[str, Any]) -> list[Table]:
    categories = results["by_category"]
    table = Table(
        f"Categories 1-4 ({results['headline_questions']} questions)",
        ["method", "recall@5", "recall@10", "MRR", "nDCG@10", "cat 1 recall@10",
         "cat 1 all-gold@10", "search p50 ms"],
    )  # fmt: skip
    for method, means in results["headline"].items():
        multi_hop = categories[method].get("1", categories[method].get(1, {}))
        table.rows.append([
            method, means["recall@5"], means["recall@10"], means["mrr"], means["ndcg@10"],
            multi_hop.get("recall@10", float("nan")), multi_hop.get("all_gold@10", float("nan")),
            results["latency_ms"][method]["p50"],
        ])  # fmt: skip
    differences = Table("recall@10 differences, paired bootstrap 95% CI", ["pair", "diff", "CI"])
    for pair, (mean, low, high) in results["differences"].items():
        differences.rows.append([pair, f"{mean:+.3f}", f"[{low:+.3f}, {high:+.3f}]"])
    return [table, differences]


def _musique(results: dict[str, Any]) -> list[Table]:
    table = Table(
        f"All {results['questions']} questions, distinct passages",
        ["method", "R@2", "R@5", "R@10", "all-gold@5", "p50 ms", "p95 ms"],
    )
    for method, parts in results["scores"].items():
        means, latency = parts["all"], results["latency_ms"][method]
        table.rows.append([method, means["recall@2"], means["recall@5"], means["recall@10"],
                           means["all_gold@5"], latency["p50"], latency["p95"]])  # fmt: skip
    return [table]


def _synthetic(results: dict[str, Any]) -> list[Table]:
    summary = results["summary"]
    recipes = list(summary)
    table = Table(
        "recall@10 by question kind; updates; leaks",
        ["recipe", "hop1", "hop2", "hop3", "update", "superseded above current", "leaks"],
    )
    for recipe in recipes:
        kinds = summary[recipe]["by_kind"]
        table.rows.append(
            [recipe]
            + [kinds.get(k, {}).get("recall@10", float("nan")) for k in ("hop1", "hop2", "hop3")]
            + [kinds.get("update", {}).get("recall@10", float("nan"))]
            + [f"{summary[recipe]['superseded_above_current']}/{summary[recipe]['updates']}"]
            + [summary[recipe]["leaks"]]
        )
    return [table]


def _speed(results: dict[str, Any]) -> list[Table]:
    table = Table(
        "Ingest and search by size",
        ["embedder", "memories", "ingest /s", "last 10% /s", "hybrid p50 ms", "hybrid p95 ms",
         "1-hop p50 ms", "2-hop p50 ms", "open + first search s", "peak RSS MB", "disk MB"],
    )  # fmt: skip
    nan = float("nan")
    for run in results["runs"]:
        hybrid = run["search_ms"].get("hybrid", {"p50": nan, "p95": nan})
        cold = run.get("cold", {})
        table.rows.append([
            run["embedder"], f"{run['size']:,}", run["ingest_per_s"],
            run.get("ingest_last10_per_s", nan), hybrid["p50"], hybrid["p95"],
            run["hop1_ms"]["p50"], run["hop2_ms"]["p50"], cold.get("open_and_first_search_s", nan),
            max(run["peak_rss_mb"], cold.get("peak_rss_mb", 0.0)), run["disk_mb"],
        ])  # fmt: skip
    return [table]


def _search_latency(results: dict[str, Any]) -> list[Table]:
    def p(run: dict[str, Any], key: str, q: str = "p50") -> float:
        value = run.get(key)
        return value[q] if isinstance(value, dict) else float("nan")

    table = Table(
        "Search and relationship-query latency, one scope (ms)",
        ["embedder", "memories", "relations", "hybrid p50", "hybrid p95", "vector p50",
         "vector p95", "store, filtered p50", "neighbours depth 1 p50",
         "neighbours depth 2 p50"],
    )  # fmt: skip
    for run in results["runs"]:
        table.rows.append([
            run.get("embedder", "hash"), f"{run['memories']:,}", f"{run.get('relations', 0):,}",
            p(run, "hybrid"), p(run, "hybrid", "p95"), p(run, "vector"), p(run, "vector", "p95"),
            store_cell(run), p(run, "neighbours_depth1"),
            p(run, "neighbours_depth2"),
        ])  # fmt: skip
    return [table]


SECTIONS = {
    "locomo": _locomo,
    "synthetic": _synthetic,
    "musique": _musique,
    "speed": _speed,
    "search_latency": _search_latency,
}


def build_readme(root: Path = RESULTS_ROOT) -> str:
    lines = [
        "# Latest benchmark results",
        "",
        "Rebuilt from the `results.json` files below by `python -m benchmarks summary`; the",
        "full tables are in each folder's `results.md`. Measured on a shared 2-core machine:",
        "treat latencies as orders of magnitude and compare methods within one run.",
        "",
    ]
    # A suite's default run first, then its variants (locomo before locomo/hash).
    for path in sorted(root.glob("**/results.json"), key=lambda p: p.relative_to(root).parts):
        document = json.loads(path.read_text(encoding="utf-8"))
        section = SECTIONS.get(document.get("suite", ""))
        if section is None:
            continue
        where = path.parent.relative_to(root)
        machine = document["machine"]
        lines += [
            f"## `{where}`",
            "",
            f"{document['timestamp']}, commit {machine['git_commit'][:12]}"
            + (" (dirty tree)" if machine.get("git_dirty") else "")
            + f", config `{json.dumps(document['config'], default=str)}`",
            "",
            *([speed, ""] if (speed := describe(machine)) else []),
        ]
        lines += [table.markdown() for table in section(document["results"])]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=str(RESULTS_ROOT), help="results folder to summarise")


def run(args: argparse.Namespace) -> int:
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    text = build_readme(root)
    (root / "README.md").write_text(text, encoding="utf-8")
    print(text)
    return 0
