"""Commands over the graph: entity, relations, neighbours, paths, and the Cypher tools."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..querylib import DIALECTS, QueryLibrary
from .output import mapping, table
from .registry import Context, UsageError, arg, command, group

AS_OF = arg("--as-of", help="ISO date: the graph as it was then")


def route(steps: Iterable[Any]) -> str:
    return " ; ".join(f"{s.source} -[{s.relation}]-> {s.target}" for s in steps)


@command("entity", "one entity by name, alias or id", arg("name"), human=mapping)
def entity(ctx: Context) -> Any:
    return ctx.memory.graph.entity(ctx.args.name, **ctx.scope)


@command(
    "relations", "relations of an entity (current, or valid --as-of a date)",
    arg("entity"), AS_OF,
    arg("--direction", choices=["both", "out", "in"], default="both"),
    arg("--all", action="store_true", help="include invalidated relations"),
    stream=True,
    human=lambda rels: table([{"source": r.source_name, "relation": r.name,
                               "target": r.target_name, "valid_at": r.valid_at,
                               "invalid_at": r.invalid_at} for r in rels]),
)  # fmt: skip
def relations(ctx: Context) -> Any:
    a = ctx.args
    return ctx.memory.graph.relations(a.entity, a.direction, as_of=a.as_of,
                                      include_invalid=a.all, **ctx.scope)  # fmt: skip


@command(
    "neighbours", "entities within --depth hops of an entity, with the path to each",
    arg("entity"), arg("--depth", type=int, default=1), AS_OF, stream=True,
    human=lambda found: table([{"entity": n.entity.name, "type": n.entity.type,
                                "depth": n.depth, "path": route(n.path)} for n in found]),
)  # fmt: skip
def neighbours(ctx: Context) -> Any:
    a = ctx.args
    return ctx.memory.graph.neighbours(a.entity, a.depth, as_of=a.as_of, **ctx.scope)


@command(
    "paths", "how two entities are connected: paths of at most --max-hops relations",
    arg("source"), arg("target"), arg("--max-hops", type=int, default=3),
    arg("--limit", type=int, default=10), AS_OF, stream=True,
    human=lambda paths: [f"{i}. {route(p)}" for i, p in enumerate(paths, 1)] or ["(no path)"],
)  # fmt: skip
def paths(ctx: Context) -> Any:
    a = ctx.args
    return ctx.memory.graph.paths(a.source, a.target, a.max_hops, limit=a.limit,
                                  as_of=a.as_of, **ctx.scope)  # fmt: skip


group("cypher", "inspect the engine's queries and the stored graph")
BACKEND = arg("--backend", choices=list(DIALECTS), default="kuzu")


@command(
    "cypher ls",
    "list the named queries",
    BACKEND,
    needs="none",
    stream=True,
    human=lambda rows: table([{**r, "params": ", ".join(r["params"])} for r in rows]),
)
def cypher_ls(ctx: Context) -> Any:
    lib = QueryLibrary(ctx.args.backend)
    return [{"name": n, "params": list(lib.get(n).params), "returns": lib.get(n).returns}
            for n in lib.names()]  # fmt: skip


@command("cypher show", "print one named query", arg("name"), BACKEND, needs="none",
         human=lambda q: [f"// {q['path']}\n// params: {', '.join(q['params']) or '-'}\n"
                          f"{q['text']}"])  # fmt: skip
def cypher_show(ctx: Context) -> Any:
    q = QueryLibrary(ctx.args.backend).get(ctx.args.name)
    return {"name": q.name, "path": q.path, "params": list(q.params), "returns": q.returns,
            "text": q.text}  # fmt: skip


@command(
    "cypher run", "run Cypher (read-only; one scope's private copy when a scope is given)",
    arg("query"), arg("--params", help="JSON object of parameters"),
    arg("--write", action="store_true", help="allow writes on the real store (unsafe)"),
    stream=True, human=table,
)  # fmt: skip
def cypher_run(ctx: Context) -> Any:
    a = ctx.args
    params = None
    if a.params is not None:
        try:
            params = json.loads(a.params)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--params: not JSON ({exc.msg})") from None
        except RecursionError:
            raise UsageError("--params: nested too deeply to read") from None
    return ctx.memory.cypher(a.query, params, write=a.write, **ctx.scope)
