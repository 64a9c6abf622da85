"""Cypher inspection: users' own statements, read-only and scoped unless they insist.

Scoped mode copies the scope's graph (``GraphOps.export``) into a fresh in-memory Kuzu
database and runs the statement there, in a child process that is stopped past
``Config.cypher_max_memory_mb`` (``cypher_child.py``). Isolation is structural, not a
rewrite of the user's query: other scopes' rows are simply not in the database the
statement sees, so no pattern, aggregate or procedure can count or leak them.

The copy costs about as much as reading the scope once: ~4 s for a 10k-memory scope on
this 2-core machine (measured, mostly ``GraphOps.export``), so it is an inspection tool,
not a query path; unscoped read-only statements run on the real store directly.

Read-only is enforced in layers. ``cypher_lexer.check_read_only`` admits one statement
built from an allow-list of read clauses and refuses anything else by name. The store then
guards again without trusting that reading: Kuzu vets the engine's own plan of the
statement (``stores/kuzu_plan.py``: no file scan, copy, export, attach or write operator)
and detaches any database a statement attached; the Bolt store vets the server's EXPLAIN
plan, runs in a READ transaction and always rolls back. Every statement runs under a time
limit and a row limit (``Config.cypher_timeout``, ``Config.cypher_max_rows``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import cypher_lexer
from .cypher_budget import check_generated, needs_rehearsal
from .cypher_child import run_scoped
from .errors import QueryError, ReadOnlyError, ValidationError
from .models import GraphBatch, Scope, check_unicode
from .stores.graph_ops import GraphOps

MAX_CYPHER_CHARS = 20_000
# When no setting is passed (direct callers): the Config defaults.
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_MEMORY_MB = 2048


def check_statement(text: object, params: object) -> tuple[str, dict[str, Any]]:
    if not isinstance(text, str):
        raise ValidationError("query", f"must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError("query", "must not be empty")
    if len(text) > MAX_CYPHER_CHARS:
        raise ValidationError(
            "query",
            f"is {len(text):,} characters, over the limit of "
            f"{MAX_CYPHER_CHARS:,}; send a shorter statement, long values "
            "as parameters",
        )
    # Else the driver's own refusal was reported against the parameters.
    check_unicode(text, "query")
    if params is None:
        return text, {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise ValidationError("params", "must be a dict with string keys")
    for name, value in params.items():
        check_unicode(name, "params")  # a lone surrogate reached the driver's C++ cast
        if not name.isidentifier():  # "" or "p q": no $name can use it; the engine's text
            raise ValidationError("params", f"{name[:80]!r} is no parameter name: a "
                                  "statement reads $name, a name of letters, digits and "
                                  "underscores; rename it or leave it out")  # fmt: skip
        _kind(value, f"params.{name}")
    # A tuple is a list here, as in JSON: Kuzu refused it ("Unknown parameter type").
    return text, {name: _listed(value) for name, value in params.items()}


def _listed(value: object) -> object:
    if isinstance(value, list | tuple):
        return [_listed(item) for item in value]
    return value


_INT64 = (-(2**63), 2**63 - 1)
_MAX_NESTING = 8
_UNTYPED = "list<?>"  # an empty list, or one of nulls only


def _kind(value: object, where: str, depth: int = 0) -> str:
    """What ``value`` is, as a graph engine types it ("number", "list<string>", ...),
    refusing what Kuzu cannot read safely with the parameter and the way round named.

    Why an allow-list: Kuzu infers a parameter's type in C++ and some shapes took the
    whole process down (a list holding a map and a null: a segmentation fault, measured;
    a map with a null field: an internal assertion), while mixed kinds or a whole number
    past 64 bits came back as its internal errors. Scalars and lists of one kind of
    value, nulls among them, are read alike by Kuzu and by Neo4j."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValidationError(where, "is outside the 64-bit integer range the graph "
                                  "engines hold; pass it as a string or a float")  # fmt: skip
        return "number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        check_unicode(value, where)
        return "string"
    if isinstance(value, Mapping):
        raise ValidationError(where, "is a map, which the graph engine cannot take as a "
                              "parameter safely; pass each field as a parameter of its own "
                              "($name, $age, ...)")  # fmt: skip
    if not isinstance(value, list | tuple):
        raise ValidationError(where, "must be a string, number, boolean, null or a list "
                              f"of one of those, got {type(value).__name__}")  # fmt: skip
    if depth >= _MAX_NESTING:
        raise ValidationError(where, f"nests lists more than {_MAX_NESTING} deep")
    kinds = {_kind(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)}
    kinds.discard("null")
    # An empty list fits beside other lists; alone, the store says where it cannot type it.
    known = {kind for kind in kinds if kind != _UNTYPED} or kinds
    if len(known) > 1 or (_UNTYPED in kinds and not next(iter(known)).startswith("list<")):
        raise ValidationError(where, f"mixes {' and '.join(sorted(kinds))}: a list "
                              "parameter holds one kind of value (nulls aside)")  # fmt: skip
    return f"list<{known.pop()}>" if known else _UNTYPED


def _in_process(
    graph_store: Any,
    statement: str,
    values: dict[str, Any],
    read_only: bool,
    limits: dict[str, Any],
    max_memory_mb: int,
) -> list[dict[str, Any]]:
    """A statement without a scope runs on the real store, in this process: no value
    past what the process can hold (``cypher_budget.py``), and on Kuzu no more than
    ``max_memory_mb`` of the process's memory while it runs. One that could grow a
    value while it is planned is first rehearsed on an empty graph in the child, under
    the child's limits (``needs_rehearsal``)."""
    check_generated(statement, values)
    # Kuzu plans in this process; a Bolt server plans on its own machine.
    kuzu = getattr(graph_store, "dialect", "") == "kuzu"
    if read_only and kuzu and needs_rehearsal(statement):
        _in_child(GraphBatch(), statement, values, limits, max_memory_mb, tracer=None)
    return graph_store.cypher(statement, values, read_only=read_only,
                              max_memory_mb=max_memory_mb, **limits)  # fmt: skip


def run_cypher(
    graph_store: Any,
    ops: GraphOps,
    text: object,
    params: object = None,
    *,
    scope: Scope | None = None,
    write: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
) -> list[dict[str, Any]]:
    """Run a user's statement; see ``Memory.cypher`` for the contract."""
    statement, values = check_statement(text, params)
    limits = {"timeout": timeout, "max_rows": max_rows}
    if not isinstance(write, bool):
        raise ValidationError("write", "must be True or False")
    if write:
        if scope is not None:
            raise ValidationError(
                "write",
                "a write runs against the whole graph, where a scope cannot be enforced: "
                "omit user_id/agent_id/run_id, and filter on them in the statement",
            )
        return _in_process(graph_store, statement, values, False, limits, max_memory_mb)
    cypher_lexer.check_read_only(statement)
    if scope is None:
        return _in_process(graph_store, statement, values, True, limits, max_memory_mb)
    # The scope's rows only: other scopes are not in the graph the statement runs on.
    batch = GraphBatch(*ops.export(scope))
    return _in_child(batch, statement, values, limits, max_memory_mb,
                     tracer=getattr(graph_store, "tracer", None))  # fmt: skip


def _in_child(batch: GraphBatch, statement: str, values: dict[str, Any],
              limits: dict[str, Any], max_memory_mb: int, tracer: Any) -> list[dict[str, Any]]:  # fmt: skip
    """``run_scoped``, its errors worded as the user's statement's ("cypher: ...")."""
    try:
        return run_scoped(batch, statement, values, max_memory_mb=max_memory_mb, tracer=tracer,
                          **limits)  # fmt: skip
    except ReadOnlyError:
        raise
    except QueryError as exc:
        text = str(exc).removeprefix("user: ")
        raise QueryError(text if text.startswith("cypher: ") else f"cypher: {text}") from exc
