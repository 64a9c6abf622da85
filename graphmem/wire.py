"""graphmem's objects over HTTP and back: ``graphmem.jsonable``'s shape, plus the types an
API answer holds that are not dataclasses.

The server and the clients share this, and the CLI's ``--json`` and the MCP tools use
the same ``jsonable`` shape, so one JSON reader fits all three. Decoding is driven by
the type the caller expects: ``from_wire(list[list[PathStep]], data)`` gives back real
``PathStep`` objects, ``from_wire(Subgraph, data)`` the subgraph.

networkx is imported only where a subgraph is made: it was a third of ``import graphmem``
(0.23 s of 0.65 s here), paid by every CLI call and server start that never asks for one.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import typing
from typing import TYPE_CHECKING, Any

from .jsonable import from_jsonable, to_jsonable
from .relations import to_json

if TYPE_CHECKING:
    import networkx as nx


class Subgraph:
    """The result kind of ``memory.graph.subgraph``: a ``networkx.MultiDiGraph``."""


def to_wire(value: Any) -> Any:
    """``value`` as plain JSON-ready data; a subgraph as ``{"nodes": [...], "edges": [...]}``."""
    nx = sys.modules.get("networkx")  # not imported yet: no graph can have been made
    if nx is not None and isinstance(value, nx.MultiDiGraph):
        value = to_json(value)
    return to_jsonable(value)


def from_wire(kind: Any, data: Any) -> Any:
    """The object of type ``kind`` that ``to_wire`` turned into ``data``."""
    if kind is None or kind is type(None):
        return None
    if kind is Subgraph:
        return graph_from_wire(data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return from_jsonable(kind, data)
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        return [from_wire(item, v) for v in data]
    return data


def graph_from_wire(data: dict[str, Any]) -> nx.MultiDiGraph:
    """Rebuild the ``networkx.MultiDiGraph`` of ``memory.graph.subgraph`` from its JSON."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    for node in data.get("nodes", []):
        graph.add_node(node["id"], **{k: v for k, v in node.items() if k != "id"})
    for edge in data.get("edges", []):
        attrs = {k: v for k, v in edge.items() if k not in ("source", "target", "id")}
        graph.add_edge(edge["source"], edge["target"], key=edge["id"], **attrs)
    return graph


class _Repeated(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _Repeated(name)
        out[name] = value
    return out


def repeated_key(raw: bytes | str) -> str | None:
    """The first member name that one JSON object of ``raw`` gives twice, else None (for
    anything that is not JSON too: the caller's own parse names that). Python's parser,
    and pydantic's, keep the last of the two without a word, where a proxy or a log that
    read the first saw something else."""
    try:
        json.loads(raw, object_pairs_hook=_unique)
    except _Repeated as exc:
        return str(exc.args[0])
    except (ValueError, TypeError, RecursionError):
        return None
    return None
