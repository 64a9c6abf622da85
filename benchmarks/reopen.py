"""Reopen one data dir again and again, each time in a fresh process (issue 16).

    python -m benchmarks.reopen --data DIR --scope scope-003 \\
        --query "Where does Jade Eva Yilmaz's brother live?" --rounds 3 \\
        --tree /path/to/a/worktree/of/the/base --tree .

The speed suite times one cold open, right after the process that ingested closed. A
restarted server or a CLI search opens a dir that its own last run wrote, and that run
searched with access tracking on (the default), so its close wrote too. Each round here
runs the speed suite's ``cold_open`` (open, one hybrid search, a second one, close) once
per ``--tree``, a checkout of graphmem, alternating, all on the same machine in the same
window. Each tree gets its own data dir: a copy of ``--data`` made before the first round.
``--serve`` then searches once in each scope it lists and records the resident memory
after each: what a process serving every user of the dir holds, apart from the ingest
whose transients the speed suite's peak RSS includes. Results go to
``results/speed/reopen/`` as JSON, Markdown and a plot.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

from .report import RESULTS_ROOT, Table, plot_lines, write_results
from .runtime import BenchmarkError
from .suites.speed import run_isolated

HERE = Path(__file__).resolve().parent


def cold_once(tree: Path, data: Path, query: str, scope: str, max_scopes: int,
              serve: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The speed suite's cold open, run by ``tree``'s graphmem in a fresh process, then
    (``serve``) one search in each of those scopes, with the resident memory after each."""
    config = {"size": 0, "embedder": "hash", "extract": "none", "graph": "kuzu",
              "graph_options": {}, "index_max_scopes": max_scopes,
              "cold": {"data_dir": str(data), "query": query, "scope": scope,
                       "serve": serve or []}}  # fmt: skip
    return run_isolated(config, cwd=tree)


def _label(tree: Path) -> str:
    """``tree`` with the commit it has checked out (and whether files differ from it)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True,
                              check=False)  # fmt: skip
        return done.stdout.strip()

    dirty = " + changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{tree} ({git('rev-parse', '--short', 'HEAD') or 'no git'}{dirty})"


def tree_copies(trees: list[Path], data: Path, workdir: Path) -> dict[str, tuple[Path, Path]]:
    """Each checkout by its label (``_label``) with its own copy of ``data`` under
    ``workdir`` (``data-0``, ``data-1``, ...; a copy already there is used as it is)."""
    out = {}
    for n, (name, tree) in enumerate({_label(t): t for t in trees}.items()):
        copy = workdir / f"data-{n}"
        if not copy.exists():
            shutil.copytree(data, copy)
        out[name] = (tree, copy)
    return out


def summarise(rounds: dict[str, list[dict[str, Any]]]) -> list[Table]:
    each = Table("Every round", ["tree", "round", "open s", "first search s",
                                 "open + first search s", "second search ms",
                                 "indexes loaded"])  # fmt: skip
    medians = Table("Median of the rounds", ["tree", "open s", "first search s",
                                             "open + first search s"])  # fmt: skip
    for tree, runs in rounds.items():
        for n, run in enumerate(runs, 1):
            each.rows.append([tree, n, run["open_s"], run["first_search_s"],
                              run["open_and_first_search_s"], run["second_search_ms"],
                              run["indexes_loaded"]])  # fmt: skip
        medians.rows.append([tree, *(statistics.median(r[k] for r in runs) for k in
                                     ("open_s", "first_search_s", "open_and_first_search_s"))])  # fmt: skip
    tables = [medians, each]
    served = [(tree, n, run) for tree, runs in rounds.items()
              for n, run in enumerate(runs, 1) if run.get("serve_scopes")]  # fmt: skip
    if served:
        serving = Table("Then one search in each scope (--serve)",
                        ["tree", "round", "scopes", "seconds", "slowest search s",
                         "RSS after the first / last MB", "anonymous / file MB at the end"])  # fmt: skip
        for tree, n, run in served:
            rss, parts = run["serve_rss_mb"], run["serve_rss_parts_mb"]
            serving.rows.append([tree, n, len(run["serve_scopes"]), run["serve_s"],
                                 max(run["serve_search_s"]), f"{rss[0]:.0f} / {rss[-1]:.0f}",
                                 f"{parts['anon']:.0f} / {parts['file']:.0f}"])  # fmt: skip
        tables.append(serving)
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reopen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--data", type=Path, required=True, help="a data dir to copy per tree")
    parser.add_argument("--query", required=True)
    parser.add_argument("--scope", required=True, help="the user_id searched")
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="a graphmem checkout (repeat; default: this one)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", default="",
                        help="scopes, comma-separated: after the cold open, one search in "
                             "each and the resident memory after it")  # fmt: skip
    parser.add_argument("--index-max-scopes", type=int, default=16, help="graphmem's default")
    parser.add_argument("--workdir", type=Path, required=True, help="where the copies go")
    parser.add_argument("--out", type=Path, default=RESULTS_ROOT / "speed" / "reopen")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.tree] or [HERE.parent]
    places = tree_copies(trees, args.data, args.workdir)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in places}
    for _ in range(args.rounds):
        for name, (tree, copy) in places.items():
            found = cold_once(tree, copy, args.query, args.scope, args.index_max_scopes,
                              [s for s in args.serve.split(",") if s])  # fmt: skip
            rounds[name].append(found)
            print(name, json.dumps(found), flush=True)
    config = {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "tree": [str(t) for t in trees]}  # fmt: skip
    write_results("reopen", {"rounds": rounds}, summarise(rounds), config, args.out,
                  ["each round: a fresh process per tree opens its copy of the data dir, "
                   "searches twice and closes (access tracking on)"])  # fmt: skip
    plot_lines(args.out / "reopen_rounds.png",
               {name: {n: r["open_and_first_search_s"] for n, r in enumerate(runs, 1)}
                for name, runs in rounds.items()},
               title="open + first hybrid search, round after round", xlabel="round",
               ylabel="seconds")  # fmt: skip
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BenchmarkError as exc:  # a tree's cold open failed: its output is above
        raise SystemExit(f"reopen: {exc}") from None
