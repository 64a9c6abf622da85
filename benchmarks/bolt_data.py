"""Write the speed suite's memories to a kept Bolt-backend root, for ``search_trees --bolt``.

    python -m benchmarks.bolt_data --root R --size 100000
    python -m benchmarks.search_trees --bolt R --data R/data --size 100000 --workdir W \\
        --tree /path/to/a/worktree/of/the/base --tree .

``R/arcade`` is the ArcadeDB test server's root (``graphmem.testing.bolt_server``: the graph),
``R/data`` the data dir (vectors, history). The memories are the speed suite's
(``benchmarks/generator.py``, one scope, seed 0 unless told), added in 1,000-memory
batches with ``infer=False`` as ``python -m benchmarks speed`` adds them, so the graph
holds the same hubs. A speed run on the Bolt backend deletes its server when it ends;
this one stays, so several checkouts can search the same graph.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from .generator import generate
from .runtime import batched, make_embedder, open_memory


def main(argv: list[str] | None = None) -> int:
    from graphmem.testing.bolt_server import BoltServer

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bolt_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--root", type=Path, required=True, help="emptied first, then kept")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100, help="search_trees' --queries")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    shutil.rmtree(args.root, ignore_errors=True)
    args.root.mkdir(parents=True)
    data = generate(args.size, 1, max(1, args.queries // 3), args.seed)
    items = [{"text": f.text, "source_ids": [f.source_id], "timestamp": f.timestamp}
             for f in data.facts]  # fmt: skip
    scope = data.facts[0].scope
    with BoltServer(root=args.root / "arcade") as server:
        options = {"neo4j_uri": server.uri, "neo4j_user": server.user,
                   "neo4j_password": server.password, "neo4j_database": server.database}  # fmt: skip
        memory = open_memory(args.root / "data", make_embedder("hash"), graph="neo4j",
                             graph_options=options)  # fmt: skip
        try:
            began = time.perf_counter()
            for chunk in batched(items, 1000):
                memory.add_many(list(chunk), user_id=scope, infer=False, batch_size=1000)
            seconds = time.perf_counter() - began
        finally:
            memory.close()
    print(f"{len(items)} memories in scope {scope}: {len(items) / seconds:.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
