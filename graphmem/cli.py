"""``graphmem``: a thin command line over the library. Every command has ``--help``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .config import Config
from .errors import GraphMemError
from .querylib import DIALECTS, QueryLibrary


def _memory(args: argparse.Namespace):
    from .memory import Memory

    overrides = {"data_dir": args.data_dir, "embedder": args.embedder, "graph": args.graph}
    return Memory.from_env(**{k: v for k, v in overrides.items() if v})


def _scope(args: argparse.Namespace) -> dict[str, str | None]:
    return {"user_id": args.user, "agent_id": args.agent, "run_id": args.run}


def _table(rows: Sequence[dict[str, Any]], out=sys.stdout) -> None:
    if not rows:
        print("(no rows)", file=out)
        return
    cols = list(rows[0])
    text = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in text)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for t in text:
        print("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)), file=out)


def _cell(value: Any, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_add(args) -> None:
    with _memory(args) as m:
        result = m.add(args.text, infer=not args.raw, **_scope(args))
        for f in result.facts:
            print(f"added {f.id}  {f.text}")
        for rel in result.relations:
            print(f"relation  {rel}")
        for old in result.invalidated:
            print(f"invalidated {old}")


def cmd_list(args) -> None:
    with _memory(args) as m:
        facts = m.get_all(limit=args.limit, include_invalid=args.all, **_scope(args))
        _table([{"id": f.id, "text": f.text, "created_at": f.created_at,
                 "invalid_at": f.invalid_at} for f in facts])  # fmt: skip


def cmd_history(args) -> None:
    with _memory(args) as m:
        events = m.history(args.memory_id, **_scope(args))
        _table([{"when": e.created_at, "event": e.event, "old": e.old_value or "",
                 "new": e.new_value or "", "details": e.details} for e in events])  # fmt: skip


def cmd_search(args) -> None:
    with _memory(args) as m:
        hits = m.search(args.query, limit=args.limit, recipe=args.recipe, **_scope(args))
        for rank, hit in enumerate(hits, 1):
            print(f"{rank:>2}. {hit.score:.3f}  {hit.text}")
            print(f"    {hit.explain()}")


def cmd_relations(args) -> None:
    with _memory(args) as m:
        rels = m.graph.relations(args.entity, as_of=args.as_of, **_scope(args))
        _table([{"source": r.source_name, "relation": r.name, "target": r.target_name,
                 "valid_at": r.valid_at, "invalid_at": r.invalid_at} for r in rels])  # fmt: skip


def cmd_cypher_ls(args) -> None:
    lib = QueryLibrary(args.backend)
    _table([{"name": n, "params": ", ".join(lib.get(n).params), "returns": lib.get(n).returns}
            for n in lib.names()])  # fmt: skip


def cmd_cypher_show(args) -> None:
    query = QueryLibrary(args.backend).get(args.name)
    print(f"// {query.path}\n// params: {', '.join(query.params) or '-'}\n{query.text}")


def cmd_cypher_run(args) -> None:
    params = json.loads(args.params) if args.params else {}
    with _memory(args) as m:
        _table(m.cypher(args.query, params, write=args.write, **_scope(args)))


def cmd_demo(args) -> None:
    from .demo import run_demo

    run_demo(args.data_dir, embedder=args.embedder or "local")


def cmd_bench(args) -> None:
    try:
        from benchmarks.cli import main as bench_main
    except ImportError:
        raise GraphMemError(
            "the benchmark runner lives in the repository's benchmarks/ folder: run graphmem "
            "bench from a checkout (pip install -e '.[bench]')"
        ) from None
    sys.exit(bench_main(args.rest))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphmem", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="embedded data directory (default: GRAPHMEM_DATA_DIR "
                        "or ~/.local/share/graphmem)")  # fmt: skip
    common.add_argument("--embedder", choices=["local", "hash", "openai"], help="embedder")
    common.add_argument("--graph", choices=list(DIALECTS), help="graph backend")
    scoped = argparse.ArgumentParser(add_help=False, parents=[common])
    scoped.add_argument("--user", help="user_id scope")
    scoped.add_argument("--agent", help="agent_id scope")
    scoped.add_argument("--run", help="run_id scope")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("add", parents=[scoped], help="remember a text")
    p.add_argument("text")
    p.add_argument("--raw", action="store_true", help="store as-is (infer=False)")
    p.set_defaults(func=cmd_add)
    p = sub.add_parser("list", parents=[scoped], help="list memories of a scope")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--all", action="store_true", help="include invalidated memories")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("history", parents=[scoped], help="changes to one memory")
    p.add_argument("memory_id")
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("search", parents=[scoped], help="hybrid search with explanations")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=5)
    p.add_argument("--recipe", default="hybrid")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("relations", parents=[scoped], help="relations of an entity")
    p.add_argument("entity")
    p.add_argument("--as-of", help="ISO date: relations valid then")
    p.set_defaults(func=cmd_relations)
    p = sub.add_parser("demo", parents=[common], help="store memories for two users and query them")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("bench", help="benchmark suites (locomo, synthetic, speed)", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench)

    cy = sub.add_parser("cypher", help="inspect the engine's queries and the stored graph")
    cysub = cy.add_subparsers(dest="cypher_command", required=True)
    p = cysub.add_parser("ls", help="list the named queries")
    p.add_argument("--backend", choices=list(DIALECTS), default="kuzu")
    p.set_defaults(func=cmd_cypher_ls)
    p = cysub.add_parser("show", help="print one named query")
    p.add_argument("name")
    p.add_argument("--backend", choices=list(DIALECTS), default="kuzu")
    p.set_defaults(func=cmd_cypher_show)
    p = cysub.add_parser("run", parents=[scoped], help="run Cypher (read-only, one scope)")
    p.add_argument("query")
    p.add_argument("--params", help="JSON object of parameters")
    p.add_argument("--write", action="store_true", help="allow writes on the real store (unsafe)")
    p.set_defaults(func=cmd_cypher_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except GraphMemError as exc:
        print(f"graphmem: error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = ["Config", "build_parser", "main"]
