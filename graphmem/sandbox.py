"""Cypher inspection: users' own statements, read-only and scoped unless they insist.

Scoped mode copies the scope's graph (``GraphOps.export``) into a fresh in-memory Kuzu
database and runs the statement there. Isolation is structural, not a rewrite of the
user's query: other scopes' rows are simply not in the database the statement sees, so
no pattern, aggregate or procedure can count or leak them.

The copy costs about as much as reading the scope once: ~4 s for a 10k-memory scope on
this 2-core machine (measured, mostly ``GraphOps.export``), so it is an inspection tool,
not a query path; unscoped read-only statements run on the real store directly.

Read-only is enforced twice: a lexical check refuses write clauses (and anything that
could end the read-only transaction, such as a second statement or ``COMMIT``) with a
message that names the keyword, and the statement then runs inside the backend's
read-only transaction, which refuses any write the lexical check could miss.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import QueryError, ReadOnlyError, ValidationError
from .models import GraphBatch, Scope
from .stores.graph_ops import GraphOps

MAX_CYPHER_CHARS = 20_000
# Clauses and commands that change data, schema or the transaction, in either dialect.
WRITE_KEYWORDS = (
    "CREATE", "MERGE", "DELETE", "DETACH", "SET", "REMOVE", "DROP", "ALTER", "COPY",
    "LOAD", "IMPORT", "EXPORT", "INSTALL", "ATTACH", "USE", "CHECKPOINT",
    "BEGIN", "COMMIT", "ROLLBACK", "FOREACH",
)  # fmt: skip
_WRITE = re.compile(r"(?<![.\w$`])(" + "|".join(WRITE_KEYWORDS) + r")(?![\w`])", re.IGNORECASE)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`", re.DOTALL)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def strip_literals(text: str) -> str:
    """The statement with strings, quoted names and comments blanked out."""
    return _COMMENT.sub(" ", _QUOTED.sub("''", text))


def check_read_only(text: str) -> None:
    """Refuse a statement that writes (or could leave the read-only transaction)."""
    bare = strip_literals(text)
    found = _WRITE.search(bare)
    if found:
        word = found.group(1).upper()
        raise ReadOnlyError(
            f"cypher: {word} changes the graph, and this call is read-only. Inspection "
            "queries may only read (MATCH ... RETURN). To write on purpose, pass "
            "write=True, which runs against the real store and bypasses the history log."
        )
    if ";" in bare.strip().rstrip(";"):
        raise ReadOnlyError("cypher: one statement per call (found ';' between statements)")


def check_statement(text: object, params: object) -> tuple[str, dict[str, Any]]:
    if not isinstance(text, str):
        raise ValidationError("query", f"must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError("query", "must not be empty")
    if len(text) > MAX_CYPHER_CHARS:
        raise ValidationError("query", f"is longer than {MAX_CYPHER_CHARS} characters")
    if params is None:
        return text, {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise ValidationError("params", "must be a dict with string keys")
    return text, dict(params)


def scope_sandbox(ops: GraphOps, scope: Scope, tracer=None):
    """A fresh in-memory Kuzu graph holding exactly ``scope``'s facts, entities and edges."""
    from .stores.kuzu import KuzuGraphStore  # the embedded engine, needed by every backend

    facts, entities, relations, mentions = ops.export(scope)
    sandbox = KuzuGraphStore(None, tracer=tracer)
    try:
        sandbox.load(GraphBatch(facts, entities, relations, mentions))
    except BaseException:
        sandbox.close()
        raise
    return sandbox


def run_cypher(
    graph_store: Any,
    ops: GraphOps,
    text: object,
    params: object = None,
    *,
    scope: Scope | None = None,
    write: bool = False,
) -> list[dict[str, Any]]:
    """Run a user's statement; see ``Memory.cypher`` for the contract."""
    statement, values = check_statement(text, params)
    if not isinstance(write, bool):
        raise ValidationError("write", "must be True or False")
    if write:
        if scope is not None:
            raise ValidationError(
                "write",
                "a write runs against the whole graph, where a scope cannot be enforced: "
                "omit user_id/agent_id/run_id, and filter on them in the statement",
            )
        return graph_store.cypher(statement, values, read_only=False)
    check_read_only(statement)
    if scope is None:
        return graph_store.cypher(statement, values, read_only=True)
    sandbox = scope_sandbox(ops, scope, getattr(graph_store, "tracer", None))
    try:
        return sandbox.cypher(statement, values, read_only=True)
    except ReadOnlyError:
        raise
    except QueryError as exc:
        raise QueryError(f"cypher: {exc}".replace("cypher: user: ", "cypher: ")) from exc
    finally:
        sandbox.close()
