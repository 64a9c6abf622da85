"""A scope's entities in name order, as ``entities_in_scope`` pages them, kept by the
graph copy (``graph_index.py``) for the scopes read that way lately.

Why: every ingest batch reads the first 200 entities of its scope by name (the known
entities the extractor is shown, ``ingest/pipeline.py``). Kuzu answered with a scan and a
sort of every entity of every scope: 50-120 ms a batch at 1M memories in ten scopes, and
47 ms for a scope holding none (measured), a cost that grew with the other scopes' data
and weighed on issue 16's last-10% ingest rate. Here a scope's list is sorted once, on its
first read, and each entity written after that is put in its place (a binary search and
one list insert); a page is a slice.

Order is Kuzu's ``ORDER BY name, id``: Python compares strings by code point, which is
the order of their UTF-8 bytes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..models import Scope

MAX_SCOPES = 8  # scopes whose lists are kept (least recently read dropped)


def _key(entity: Any) -> tuple[str, str]:
    return (entity.name or "", entity.id)


class EntityPages:
    """Sorted ``(name, id)`` lists for the scopes last paged, kept in step with the copy's
    ``put`` and ``drop`` of entities."""

    def __init__(self) -> None:
        self._lists: OrderedDict[Scope, list[tuple[str, str]]] = OrderedDict()

    def page(self, scope: Scope, entities: Mapping[str, Any], skip: int, limit: int) -> list[str]:
        """Ids of the scope's entities ``skip`` to ``skip + limit`` in (name, id) order."""
        held = self._lists.get(scope)
        if held is None:
            held = sorted(_key(e) for e in entities.values() if scope.matches(e))
            self._lists[scope] = held
            while len(self._lists) > MAX_SCOPES:
                self._lists.popitem(last=False)
        else:
            self._lists.move_to_end(scope)
        return [entity_id for _name, entity_id in held[max(0, skip) : max(0, skip) + limit]]

    def put(self, entity: Any, old: Any) -> None:
        """``entity`` stored in place of ``old`` (None for a new one)."""
        self.drop(old)
        for scope, held in self._lists.items():
            if scope.matches(entity):
                insort(held, _key(entity))

    def drop(self, old: Any) -> None:
        """``old`` (None: nothing) gone from every list holding it."""
        if old is None:
            return
        for scope, held in self._lists.items():
            if scope.matches(old):
                _remove(held, _key(old))


def _remove(held: list[tuple[str, str]], key: tuple[str, str]) -> None:
    at = bisect_left(held, key)
    if at < len(held) and held[at] == key:
        del held[at]
