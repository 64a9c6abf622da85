"""What a full cycle collection walks once a kept data dir has served some searches.

    python -m benchmarks.gc_walk --data K/100000-hash/data --size 100000 \\
        --tree /path/to/a/worktree/of/the/base --tree . --out results/speed/gc-walk

Python's full (generation 2) collection walks every object the collector tracks and every
reference each holds, and it runs inside whichever call allocates when its turn comes:
in a search, where it shows as the latency tail (at 100k memories one scope, ~0.5 s a
pass on this machine). Each ``--tree`` opens the dir in a fresh process, searches the
speed suite's questions (``hybrid``, access tracking off), then counts the tracked
objects by type and their references, and times ``--passes`` full collections. The
counts do not depend on the machine's load; the times do.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def worker(config: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, config["tree"])
    from benchmarks.generator import generate
    from benchmarks.runtime import make_embedder, open_memory

    data = generate(config["size"], 1, max(1, config["queries"] // 3), config["seed"])
    questions = [q for q in data.questions if q.kind in ("hop1", "hop2", "hop3")]
    del data
    memory = open_memory(Path(config["data_dir"]), make_embedder("hash"))
    memory.track_access = False
    try:
        for q in questions[: config["queries"]]:
            memory.search(q.text, user_id=q.scope, limit=10, recipe="hybrid")
        gc.collect()
        objects, refs = collections.Counter(), collections.Counter()
        for o in gc.get_objects():
            objects[type(o).__name__] += 1
            refs[type(o).__name__] += len(gc.get_referents(o))
        passes = []
        for _ in range(config["passes"]):
            began = time.perf_counter()
            gc.collect()
            passes.append(time.perf_counter() - began)
    finally:
        memory.close()
    return {"objects": dict(objects), "refs": dict(refs), "pass_s": passes}


def main(argv: list[str] | None = None) -> int:
    from .reopen import tree_copies
    from .report import RESULTS_ROOT, Table, write_results
    from .search_trees import in_fresh_process

    parser = argparse.ArgumentParser(prog="python -m benchmarks.gc_walk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--data", type=Path, required=True, help="a speed-suite data dir")
    parser.add_argument("--size", type=int, required=True, help="the speed run's --sizes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--tree", type=Path, action="append", default=[])
    parser.add_argument("--workdir", type=Path, required=True, help="where the copies go")
    parser.add_argument("--out", type=Path, default=RESULTS_ROOT / "speed" / "gc-walk")
    args = parser.parse_args(argv)
    trees = [t.resolve() for t in args.tree] or [HERE.parent]
    config = {"size": args.size, "seed": args.seed, "queries": args.queries,
              "passes": args.passes}  # fmt: skip
    runs: dict[str, dict[str, Any]] = {}
    for name, (tree, copy) in tree_copies(trees, args.data, args.workdir).items():
        runs[name] = in_fresh_process(Path(__file__), tree, {**config, "data_dir": str(copy)})
    table = Table("Tracked objects after the searches, and full collections",
                  ["tree", "tracked objects", "references", "lists", "tuples (incl. named)",
                   "full collection ms, median (min-max)"])  # fmt: skip
    for name, run in runs.items():
        o, passes = run["objects"], [p * 1000.0 for p in run["pass_s"]]
        tuples = sum(n for t, n in o.items() if t == "tuple" or t.startswith("Held"))
        table.rows.append([name, sum(o.values()), sum(run["refs"].values()), o.get("list", 0),
                           tuples, f"{statistics.median(passes):.0f} "
                           f"({min(passes):.0f}-{max(passes):.0f})"])  # fmt: skip
    write_results("gc-walk", {"runs": runs}, [table], {**config, "data": str(args.data),
                  "tree": [str(t) for t in trees]}, args.out,
                  ["each tree: a fresh process on its own copy of the dir, `hybrid` over the "
                   "questions once, then gc.get_objects() counted and full collections timed"])  # fmt: skip
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        request = json.loads(Path(sys.argv[2]).read_text())
        Path(sys.argv[3]).write_text(json.dumps(worker(request)))
    else:
        raise SystemExit(main())
