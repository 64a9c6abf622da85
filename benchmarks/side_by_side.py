"""Kuzu and the Bolt backend side by side: the speed suite run once per graph backend.

    python -m benchmarks.side_by_side --sizes 2000

With no ``--neo4j-uri`` (or NEO4J_URI) a local Bolt + Cypher server (ArcadeDB, from
``graphmem[dev]``) is started for the run and stopped after it; with one, that server is
used (it is written to). Each backend's full results stay in its own folder; the
comparison goes to ``results/side_by_side/`` as JSON and Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = [
    ("ingest /s", lambda r: r["ingest_per_s"]),
    ("vector p95 ms", lambda r: r["search_ms"]["vector"]["p95"]),
    ("hybrid p50 ms", lambda r: r["search_ms"]["hybrid"]["p50"]),
    ("hybrid p95 ms", lambda r: r["search_ms"]["hybrid"]["p95"]),
    ("1-hop p50 ms", lambda r: r["hop1_ms"]["p50"]),
    ("2-hop p50 ms", lambda r: r["hop2_ms"]["p50"]),
]


def run_speed(graph: str, out: Path, sizes: str, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "benchmarks", "speed", "--sizes", sizes, "--embedders", "hash",
           "--graph", graph, "--out", str(out), *extra]  # fmt: skip
    done = subprocess.run(cmd, cwd=HERE.parent, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the speed suite failed on {graph} (exit {done.returncode})")
    return json.loads((out / "results.json").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.side_by_side", description=__doc__)
    parser.add_argument("--sizes", default="2000")
    parser.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI", ""))
    parser.add_argument("--out", default=str(HERE / "results" / "side_by_side"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = {"kuzu": run_speed("kuzu", out / "kuzu", args.sizes, [])}
    with ExitStack() as stack:
        if args.neo4j_uri:
            bolt = ["--neo4j-uri", args.neo4j_uri]
            where = args.neo4j_uri
        else:
            from graphmem.testing import BoltServer

            server = stack.enter_context(BoltServer())
            bolt = ["--neo4j-uri", server.uri, "--neo4j-user", server.user,
                    "--neo4j-password", server.password, "--neo4j-database", server.database]  # fmt: skip
            where = f"local ArcadeDB Bolt server {server.uri}"
        results["neo4j"] = run_speed("neo4j", out / "neo4j", args.sizes, bolt)
    rows = []
    for graph, data in results.items():
        for run in data["results"]["runs"]:
            rows.append({"graph": graph, "size": run["size"],
                         **{name: round(get(run), 1) for name, get in COLUMNS}})  # fmt: skip
    table = ["| graph | memories | " + " | ".join(n for n, _ in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]  # fmt: skip
    table += [f"| {r['graph']} | {r['size']} | " + " | ".join(str(r[n]) for n, _ in COLUMNS) + " |"
              for r in sorted(rows, key=lambda r: (r["size"], r["graph"]))]  # fmt: skip
    text = f"# Kuzu vs Bolt backend (speed suite, hash embedder)\n\n- neo4j: {where}\n\n"
    text += "\n".join(table) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"where": where, "rows": rows}, indent=1))
    (out / "results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
