"""Search one kept speed-suite data dir with several graphmem checkouts, side by side.

    python -m benchmarks speed --sizes 100000 --scopes 1 --embedders hash --keep-data K
    python -m benchmarks.search_trees --data K/100000-hash/data --size 100000 --scopes 1 \\
        --tree /path/to/a/worktree/of/the/base --tree . --rounds 2 --workdir W

For a change that must make search cheaper without changing what it finds. Each round
runs every ``--tree`` once, alternating, each in a fresh process on its own copy of the
data dir: it opens the dir, searches every question once per recipe untimed (the indexes
load and the payloads a search reads are decoded, as in a process that has served a
while), then times each question again, wall clock and CPU (``time.process_time``: the
other processes of a 2-core machine move it far less than the wall clock). Access
tracking is off, so nothing is written between the trees. The questions are the speed
suite's (``benchmarks/generator.py``, same size, scopes and seed): on one scope of 100k
memories they walk through hubs of ~1k facts, which is what each scope of the 1M run
holds. Every hit list (ids, scores, score parts, paths, texts) is compared with the first
tree's. Results go to ``results/speed/search-trees/`` as JSON, Markdown and a plot.

``--bolt ROOT`` searches the Bolt backend instead: the graph lives on an ArcadeDB test server
started from ``ROOT/arcade`` in each process (``python -m benchmarks.bolt_data`` writes one
and its data dir), shared by the trees, which do not write to it (a tree that stamps the
database's graph token on open does, once). Each timed search also records how long
Python's full (generation 2) collections ran inside it.

``--cold`` times the first pass instead (nothing searched before it): the searches of a
process that has just opened the dir, which is what each scope of the 1M run sees (~15
questions a scope). Each process's anonymous RSS after its searches is recorded either
way: what the searches left held, beside what they cost.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """One tree's timings and hit lists (run in a fresh process by ``search_once``)."""
    sys.path.insert(0, config["tree"])  # that checkout's graphmem and generator
    from benchmarks.generator import generate
    from benchmarks.runtime import make_embedder, open_memory

    data = generate(config["size"], config["scopes"], max(1, config["queries"] // 3),
                    config["seed"])  # fmt: skip
    questions = [q for q in data.questions if q.kind in ("hop1", "hop2", "hop3")]
    questions = questions[: config["queries"]]
    server, graph = None, {}
    if config.get("bolt"):
        from graphmem.testing.bolt_server import BoltServer

        server = BoltServer(root=Path(config["bolt"]) / "arcade").start()
        graph = {"graph": "neo4j", "graph_options": {
            "neo4j_uri": server.uri, "neo4j_user": server.user,
            "neo4j_password": server.password, "neo4j_database": server.database}}  # fmt: skip
    memory = open_memory(Path(config["data_dir"]), make_embedder("hash"), **graph)
    memory.track_access = False
    out: dict[str, Any] = {"wall_s": {}, "cpu_s": {}, "gc2_s": {}, "hits": {}}
    full = _FullCollections()
    try:
        for recipe in [] if config.get("cold") else config["recipes"]:
            for q in questions:
                memory.search(q.text, user_id=q.scope, limit=10, recipe=recipe)
        for recipe in config["recipes"]:
            wall, cpu, collecting, hits = [], [], [], []
            for q in questions:
                full.spent = 0.0
                began, spent = time.perf_counter(), time.process_time()
                found = memory.search(q.text, user_id=q.scope, limit=10, recipe=recipe)
                wall.append(time.perf_counter() - began)
                cpu.append(time.process_time() - spent)
                collecting.append(full.spent)
                hits.append(digest([[h.memory_id, round(h.score, 9), h.text, h.memory_ids,
                                     sorted([k, round(v, 7)] for k, v in h.score_parts.items()),
                                     [str(step) for step in h.path]] for h in found]))  # fmt: skip
            out["wall_s"][recipe], out["cpu_s"][recipe], out["hits"][recipe] = wall, cpu, hits
            out["gc2_s"][recipe] = collecting
        gc.collect()
        out["rss_anon_mb"] = anon_mb()
    finally:
        gc.callbacks.remove(full)
        memory.close()
        if server is not None:
            server.stop()
    return out


class _FullCollections:
    """Seconds spent in generation-2 collections since ``spent`` was last reset."""

    def __init__(self) -> None:
        self.spent, self._began = 0.0, 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        elif info.get("generation") == 2:
            self.spent += time.perf_counter() - self._began


def anon_mb() -> float:
    """This process's anonymous resident memory (heap: indexes, decoded rows), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def digest(hits: list[list[Any]]) -> list[Any]:
    """``[how many hits, a SHA-1 of all they say]``: lists compare as exactly as the hits
    would, and a run's JSON stays small (the hits' texts were 9 MB for 600 lists)."""
    text = json.dumps(hits, sort_keys=True, ensure_ascii=False)
    return [len(hits), hashlib.sha1(text.encode("utf-8")).hexdigest()]


def search_once(tree: Path, config: dict[str, Any]) -> dict[str, Any]:
    return in_fresh_process(Path(__file__), tree, config)


def in_fresh_process(script: Path, tree: Path, config: dict[str, Any]) -> dict[str, Any]:
    """``script --worker`` run in a fresh process from ``tree`` with ``config`` (plus the
    tree), its JSON answer returned; the script's ``worker(config)`` does the work."""
    with tempfile.TemporaryDirectory(prefix="graphmem-trees-") as scratch:
        request, answer = Path(scratch) / "config.json", Path(scratch) / "result.json"
        request.write_text(json.dumps({**config, "tree": str(tree)}), encoding="utf-8")
        done = subprocess.run([sys.executable, str(script), "--worker", str(request),
                               str(answer)], cwd=tree, check=False)  # fmt: skip
        if done.returncode != 0 or not answer.is_file():
            raise SystemExit(f"{script.stem}: {tree} failed (exit {done.returncode})")
        return json.loads(answer.read_text(encoding="utf-8"))


def summarise(runs: dict[str, list[dict[str, Any]]], recipes: list[str]) -> list[Any]:
    from .metrics import percentiles_ms
    from .report import Table

    first = next(iter(runs.values()))[0]["hits"]
    table = Table("Per recipe and tree (every round's timed searches pooled)",
                  ["recipe", "tree", "wall p50 / p95 ms", "CPU p50 / p95 ms", "CPU mean ms",
                   "hit lists identical to the first tree's", "anon RSS after, MB",
                   "searches with a full collection", "full collections, ms"])  # fmt: skip
    for recipe in recipes:
        for name, rounds in runs.items():
            wall = [t for r in rounds for t in r["wall_s"][recipe]]
            cpu = [t for r in rounds for t in r["cpu_s"][recipe]]
            w, c = percentiles_ms(wall), percentiles_ms(cpu)
            gc2 = [t for r in rounds for t in r.get("gc2_s", {}).get(recipe, [])]
            same = sum(a == b for r in rounds for a, b in zip(r["hits"][recipe], first[recipe],
                                                              strict=True))  # fmt: skip
            table.rows.append([recipe, name, f"{w['p50']:.1f} / {w['p95']:.1f}",
                               f"{c['p50']:.1f} / {c['p95']:.1f}",
                               statistics.fmean(cpu) * 1000.0,
                               f"{same} of {sum(len(r['hits'][recipe]) for r in rounds)}",
                               " / ".join(f"{r.get('rss_anon_mb', float('nan')):.0f}"
                                          for r in rounds),
                               f"{sum(t > 0 for t in gc2)} of {len(gc2)}",
                               sum(gc2) * 1000.0])  # fmt: skip
    return [table]


def main(argv: list[str] | None = None) -> int:
    from .reopen import tree_copies
    from .report import RESULTS_ROOT, plot_lines, write_results
    from .runtime import add_speed_run_arguments

    parser = argparse.ArgumentParser(prog="python -m benchmarks.search_trees", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_speed_run_arguments(parser)
    parser.add_argument("--recipes", default="hybrid,graph,vector")
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="a graphmem checkout (repeat; default: this one)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cold", action="store_true",
                        help="time the first searches of each process (no untimed pass)")  # fmt: skip
    parser.add_argument("--bolt", type=Path, default=None,
                        help="search the Bolt backend: a root written by benchmarks.bolt_data")  # fmt: skip
    parser.add_argument("--workdir", type=Path, required=True, help="where the copies go")
    parser.add_argument("--out", type=Path, default=RESULTS_ROOT / "speed" / "search-trees")
    args = parser.parse_args(argv)
    recipes = [r for r in args.recipes.split(",") if r]
    trees = [t.resolve() for t in args.tree] or [HERE.parent]
    config = {"size": args.size, "scopes": args.scopes, "seed": args.seed,
              "queries": args.queries, "recipes": recipes, "cold": args.cold,
              "bolt": str(args.bolt) if args.bolt else ""}  # fmt: skip
    places = tree_copies(trees, args.data, args.workdir)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in places}
    for n in range(args.rounds):
        for name, (tree, copy) in places.items():
            found = search_once(tree, {**config, "data_dir": str(copy)})
            runs[name].append(found)
            cpu = statistics.fmean(found["cpu_s"][recipes[0]]) * 1000.0
            print(f"round {n + 1} {name}: {recipes[0]} CPU mean {cpu:.1f} ms", flush=True)
    settings = {**config, "data": str(args.data), "rounds": args.rounds,
                "tree": [str(t) for t in trees]}  # fmt: skip
    write_results("search-trees", {"runs": runs}, summarise(runs, recipes), settings, args.out,
                  ["each round: a fresh process per tree, alternating, searches every "
                   "question once timed (access tracking off), "
                   + ("with nothing searched before (--cold)" if args.cold else
                      "after one untimed pass over them all"),
                   "anon RSS after: each round's process once its searches are done"])  # fmt: skip
    plot_lines(args.out / "search_cpu_by_round.png",
               {f"{name} {recipe}": {n: statistics.fmean(r["cpu_s"][recipe]) * 1000.0
                                     for n, r in enumerate(rounds, 1)}
                for name, rounds in runs.items() for recipe in recipes},
               title="mean CPU per search, round after round", xlabel="round",
               ylabel="ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        request = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
        Path(sys.argv[3]).write_text(json.dumps(worker(request)), encoding="utf-8")
    else:
        raise SystemExit(main())
