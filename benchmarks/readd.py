"""Re-add memories a kept data dir already holds, each round in a fresh process (issue 16).

    python -m benchmarks.readd --data DIR --size 1000000 --scopes 10 --scope scope-003 \\
        --batches 3 --rounds 3 --workdir W \\
        --tree /path/to/a/worktree/of/the/base --tree .

A user who imports a conversation twice, or an agent that replays what it was told, adds
memories that are stored already: each one is a re-put of its id in every store and
index. The speed suite never does that (every memory it adds is new), so this runs it on
the data dir a speed run kept: the suite's generator, with the run's size, scopes and
seed, gives the very memories the run stored; ``--batches`` of them, from ``--scope``,
are added again, ``--batch-size`` at a time, through ``Memory.add_many`` as the suite
adds them. Each round runs once per ``--tree`` (a checkout of graphmem), alternating, in
a fresh process that opens the tree's own copy of ``--data``, so the first batch pays
what a process's first write pays (loading the vector shards, the graph copy's parts).
Results go to ``results/speed/readd/`` as JSON, Markdown and a plot.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .reopen import tree_copies
from .report import RESULTS_ROOT, Table, plot_lines, write_results
from .runtime import BenchmarkError, add_speed_run_arguments, answer_worker

HERE = Path(__file__).resolve().parent


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: ``config["tree"]``'s graphmem re-adds ``config["items"]``."""
    sys.path.insert(0, config["tree"])  # before anything imports graphmem
    import graphmem
    from benchmarks.runtime import make_embedder, open_memory

    if not Path(graphmem.__file__).resolve().is_relative_to(Path(config["tree"]).resolve()):
        raise BenchmarkError(f"graphmem came from {graphmem.__file__}, not {config['tree']}")
    began = time.perf_counter()
    memory = open_memory(Path(config["data"]), make_embedder("hash"))
    opened = time.perf_counter()
    batches, written = [], 0
    try:
        items, size = config["items"], config["batch_size"]
        for start in range(0, len(items), size):
            at = time.perf_counter()
            added = memory.add_many(items[start : start + size], user_id=config["scope"],
                                    infer=False, batch_size=size)  # fmt: skip
            batches.append(time.perf_counter() - at)
            written += len(added.facts)
    finally:
        closing = time.perf_counter()
        memory.close()
    return {"open_s": opened - began, "batch_s": batches, "close_s": time.perf_counter() - closing,
            "facts_returned": written}  # fmt: skip


def run_worker(config: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="graphmem-readd-") as scratch:
        request, answer = Path(scratch) / "config.json", Path(scratch) / "result.json"
        request.write_text(json.dumps(config), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "benchmarks.readd", "--worker",
                               str(request), str(answer)], cwd=HERE.parent, check=False)  # fmt: skip
        if done.returncode != 0 or not answer.is_file():
            raise BenchmarkError(f"re-add by {config['tree']} failed (exit {done.returncode})")
        return json.loads(answer.read_text(encoding="utf-8"))


def stored_items(size: int, scopes: int, queries: int, seed: int, scope: str,
                 count: int) -> list[dict[str, Any]]:  # fmt: skip
    """The first ``count`` memories the speed suite stored in ``scope``, as it added them."""
    from .generator import generate

    data = generate(size, scopes, max(1, queries // 3), seed)
    facts = [f for f in data.facts if f.scope == scope][:count]
    if len(facts) < count:
        raise BenchmarkError(f"{scope} holds {len(facts)} generated memories, not {count}")
    return [{"text": f.text, "source_ids": [f.source_id], "timestamp": f.timestamp}
            for f in facts]  # fmt: skip


def summarise(rounds: dict[str, list[dict[str, Any]]]) -> list[Table]:
    each = Table("Every round", ["tree", "round", "open s", "batch s (in order)",
                                 "all batches s", "close s"])  # fmt: skip
    medians = Table("Median of the rounds", ["tree", "first batch s", "later batches s",
                                             "all batches s", "close s"])  # fmt: skip
    for tree, runs in rounds.items():
        for n, run in enumerate(runs, 1):
            each.rows.append([tree, n, run["open_s"], " / ".join(f"{b:.2f}" for b in run["batch_s"]),
                              sum(run["batch_s"]), run["close_s"]])  # fmt: skip
        medians.rows.append([tree, statistics.median(r["batch_s"][0] for r in runs),
                             statistics.median(sum(r["batch_s"][1:]) for r in runs),
                             statistics.median(sum(r["batch_s"]) for r in runs),
                             statistics.median(r["close_s"] for r in runs)])  # fmt: skip
    return [medians, each]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.readd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_speed_run_arguments(parser, scopes=10)
    parser.add_argument("--scope", required=True, help="the user_id re-added to")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="a graphmem checkout (repeat; default: this one)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, required=True, help="where the copies go")
    parser.add_argument("--out", type=Path, default=RESULTS_ROOT / "speed" / "readd")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.tree] or [HERE.parent]
    items = stored_items(args.size, args.scopes, args.queries, args.seed, args.scope,
                         args.batches * args.batch_size)  # fmt: skip
    places = tree_copies(trees, args.data, args.workdir)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in places}
    for _ in range(args.rounds):
        for name, (tree, copy) in places.items():
            found = run_worker({"tree": str(tree), "data": str(copy), "scope": args.scope,
                                "items": items, "batch_size": args.batch_size})  # fmt: skip
            rounds[name].append(found)
            print(name, json.dumps(found), flush=True)
    config = {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "tree": [str(t) for t in trees]}  # fmt: skip
    write_results("readd", {"rounds": rounds}, summarise(rounds), config, args.out,
                  [f"each round: a fresh process per tree opens its copy of the data dir and "
                   f"adds again {len(items):,} memories it holds, {args.batch_size:,} at a "
                   "time (access tracking on, as graphmem's default)"])  # fmt: skip
    totals = {name: {n: sum(r["batch_s"]) for n, r in enumerate(runs, 1)}
              for name, runs in rounds.items()}  # fmt: skip
    plot_lines(args.out / "readd_batches.png", totals, xlabel="round",
               title="re-adding stored memories, round after round",
               ylabel="seconds for all batches")  # fmt: skip
    return 0


if __name__ == "__main__":
    if not answer_worker(worker):
        try:
            raise SystemExit(main())
        except BenchmarkError as exc:
            raise SystemExit(f"readd: {exc}") from None
