"""The one definition of graphmem's API surface, shared by every way of calling it.

Each ``Op`` names a ``Memory`` method (or a ``memory.graph`` one), whether it writes, and
the HTTP route that serves it. From this table alone:

- ``AsyncMemory`` (``graphmem/aio.py``) wraps each method to run off the event loop,
  reads side by side and writes one at a time;
- ``Client`` and ``AsyncClient`` (``graphmem/client.py``) turn each call into one HTTP
  request and the answer back into the same objects ``Memory`` returns;
- the server (``graphmem/server/app.py``) mounts each route.

Arguments are bound against the real ``Memory`` signature, so every surface accepts
exactly what ``Memory`` accepts, by the same names.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import quote

from .errors import ValidationError
from .lifecycle.maintain import MaintainReport
from .memory import AddResult, Memory
from .models import Entity, Fact, HistoryEvent, Hit, PathStep, Relation, check_unicode
from .relations import Neighbour, Relations
from .wire import Subgraph, from_wire, to_wire


@dataclass(frozen=True)
class Op:
    name: str  # "search", or "graph.relations" for the relationship API
    http: str
    path: str  # placeholders are named after the Python argument they carry
    result: Any = None  # the type the response decodes to
    key: str | None = None  # the response field that holds it (None: the whole body)
    write: bool = False
    wire: Mapping[str, str] = field(default_factory=dict)  # Python argument -> wire name

    @property
    def method(self) -> str:
        return self.name.rpartition(".")[2]

    @property
    def on_graph(self) -> bool:
        return self.name.startswith("graph.")

    @cached_property
    def signature(self) -> inspect.Signature:
        owner = Relations if self.on_graph else Memory
        return inspect.signature(getattr(owner, self.method))

    def bound(self, memory: Memory) -> Callable[..., Any]:
        """The real method on ``memory`` this op stands for."""
        return getattr(memory.graph if self.on_graph else memory, self.method)

    # -- the client side of the wire -------------------------------------------------------

    def request(self, args: tuple, kwargs: dict) -> tuple[str, dict | None, dict | None]:
        """(url path, query params, JSON body) for one call, bound as ``Memory`` binds it."""
        bound = self.signature.bind(None, *args, **kwargs)  # None stands for self
        values: dict[str, Any] = {}
        for name, value in list(bound.arguments.items())[1:]:
            if self.signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                values.update(value)
            else:
                values[name] = value
        values = {self.wire.get(k, k): v for k, v in values.items() if v is not None}
        sendable(values, "")
        path = self.path
        for slot in _slots(self.path):
            value = _plain(values.pop(slot, None))
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(slot, "must be a non-empty string")
            if len(value) > _MAX_PATH_CHARS:
                raise ValidationError(slot, f"is {len(value):,} characters, too long to send "
                                      f"in a URL (at most {_MAX_PATH_CHARS:,})")  # fmt: skip
            path = re.sub(r"\{" + slot + r"(:\w+)?\}", lambda _m, v=value: _segment(v), path)
        if self.http in ("POST", "PUT"):
            return path, None, to_wire({k: _plain(v) for k, v in values.items()})
        return path, {k: _query_value(v) for k, v in values.items()}, None

    @property
    def doc(self) -> str:
        return inspect.getdoc(getattr(Relations if self.on_graph else Memory, self.method)) or ""

    def decode(self, body: Any) -> Any:
        if self.result is None:
            return None
        return from_wire(self.result, body[self.key] if self.key else body)


# Deeper than this, the wire encoders meet Python's recursion limit; Memory refuses
# metadata nested past 20 levels (ingest/validate.py), so no valid call comes near it.
_MAX_DEPTH = 100
# What a URL path can hold: httpx refuses a longer URL with its own InvalidURL.
_MAX_PATH_CHARS = 8_000
_SCALARS = (str, int, float, bool, datetime, date, timedelta)


def sendable(value: Any, where: str) -> Any:
    """``value`` if it can travel as ``Memory`` would take it, else the ``ValidationError``
    a ``Memory`` raises. The wire encoder writes any object as its ``str`` (bytes became
    the text "b'...'", a generator "<generator object ...>"), httpx raised ``ValueError``
    on NaN and ``UnicodeEncodeError`` on a lone surrogate, and deep nesting overflowed."""
    todo = [(value, where, 0)]
    while todo:
        item, at, depth = todo.pop()
        name = at or "value"
        if item is None or isinstance(item, Entity):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise ValidationError(name, f"must be a finite number, got {item!r}")
        if isinstance(item, str):
            check_unicode(item, name)
        elif isinstance(item, Mapping | list | tuple) and depth > _MAX_DEPTH:
            raise ValidationError(name, f"is nested more than {_MAX_DEPTH} levels deep; "
                                  "flatten it")  # fmt: skip
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise ValidationError(name, f"has a key that is no string ({key!r:.40}); "
                                          "use string keys")  # fmt: skip
                inside = f"{at}.{key}" if at else key
                check_unicode(key, inside)
                todo.append((inner, inside, depth + 1))
        elif isinstance(item, list | tuple):
            todo += [(inner, f"{name}[{i}]", depth + 1) for i, inner in enumerate(item)]
        elif not isinstance(item, _SCALARS):
            raise ValidationError(name, f"is a {type(item).__name__}, which cannot be sent; "
                                  "pass text, numbers, booleans, lists or dicts of them")  # fmt: skip
    return value


def _slots(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


def _plain(value: Any) -> Any:
    """An ``Entity`` argument travels as its id, which every entity lookup accepts; a
    ``timedelta`` (a ``ttl``) as its seconds, which ``ttl`` accepts too."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value.id if isinstance(value, Entity) else value


def _query_value(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_query_value(v) for v in value]
    if isinstance(value, int | float | str):
        return value
    raise ValidationError("query", f"{type(value).__name__} cannot be sent as a query value")


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op("add", "POST", "/v1/memories", AddResult, write=True),
        Op("add_many", "POST", "/v1/memories/batch", AddResult, write=True),
        Op("add_triples", "POST", "/v1/triples", AddResult, write=True),
        Op("get_all", "GET", "/v1/memories", list[Fact], "memories"),
        Op("get", "GET", "/v1/memories/{memory_id}", Fact),
        Op("rules", "GET", "/v1/rules", list[Fact], "rules"),
        Op("update", "PUT", "/v1/memories/{memory_id}", Fact, write=True),
        Op("delete", "DELETE", "/v1/memories/{memory_id}", None, write=True),
        Op("delete_all", "DELETE", "/v1/memories", int, "deleted", write=True),
        Op("history", "GET", "/v1/memories/{memory_id}/history", list[HistoryEvent], "events"),
        Op("undo_merge", "POST", "/v1/merges/{event_id}/undo", Entity, write=True),
        Op("archive", "POST", "/v1/memories/{memory_id}/archive", Fact, write=True),
        Op("restore", "POST", "/v1/memories/{memory_id}/restore", Fact, write=True),
        Op("maintain", "POST", "/v1/maintain", MaintainReport, write=True),
        Op("settle", "POST", "/v1/settle", dict[str, bool], write=True),
        Op("search", "POST", "/v1/search", list[Hit], "hits"),
        Op("cypher", "POST", "/v1/cypher", list[dict], "rows"),
        Op("stats", "GET", "/v1/stats", dict),
        Op("graph.entity", "GET", "/v1/entities/{name:path}", Entity),
        Op("graph.relations", "GET", "/v1/relations", list[Relation], "relations"),
        Op("graph.neighbours", "GET", "/v1/neighbours", list[Neighbour], "neighbours"),
        Op(
            "graph.paths",
            "GET",
            "/v1/paths",
            list[list[PathStep]],
            "paths",
            wire={"a": "source", "b": "target"},
        ),  # fmt: skip
        Op("graph.facts_about", "GET", "/v1/facts_about", list[Fact], "facts"),
        Op(
            "graph.subgraph", "GET", "/v1/subgraph", Subgraph, wire={"entities": "entity"}
        ),  # fmt: skip
    )
}


class GraphNamespace:
    """``.graph`` of a derived surface: each op forwards to the owner's ``_call``."""

    to_json = staticmethod(Relations.to_json)
    to_graphml = staticmethod(Relations.to_graphml)

    def __init__(self, owner: Any) -> None:
        self._owner = owner

    def _call(self, op: Op, args: tuple, kwargs: dict) -> Any:
        return self._owner._call(op, args, kwargs)


def install(cls: type, graph_cls: type, make: Callable[[Op], Callable[..., Any]]) -> None:
    """Give ``cls`` (and its ``graph`` namespace class) one method per op, made by ``make``,
    carrying ``Memory``'s docstring and signature so help() and IDEs show the real API."""
    for op in OPS.values():
        fn = make(op)
        fn.__name__ = fn.__qualname__ = op.method
        fn.__doc__ = inspect.getdoc(getattr(Relations if op.on_graph else Memory, op.method))
        fn.__signature__ = op.signature  # type: ignore[attr-defined]
        setattr(graph_cls if op.on_graph else cls, op.method, fn)


def _segment(value: str) -> str:
    """``value`` as one path segment. "." and ".." are written %2E: sent plain, the HTTP
    client removes them as dot segments (RFC 3986 5.2.4), so ``delete(".")`` reached
    ``DELETE /v1/memories?user_id=...``, the route that deletes a whole scope."""
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted
