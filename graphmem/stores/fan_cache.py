"""What a graph server sent for each entity a walk expanded, kept until the graph changes.

Why: on the Bolt backend a walk's second hop reaches hubs (a city, an employer) and the
server expands every relation of each before capping them (``relations_fan``): ~100-430 ms
a read at 100k memories on the ArcadeDB test server, ~70% of a hybrid search, where the
first hop's few named entities cost 4-15 ms. The same hubs come back query after query.

When the graph may change under it, a copy is only as good as its check. Every graphmem
write to a server database replaces one token in the same transaction, as its last
statement (``Neo4jGraphStore``, ``graph_token_set``), whichever process writes; a read
first asks for the token (one short round trip) and drops every kept fan when it
differs. A store stamps a database that has no token yet (written by an older version)
when it opens it; where it may not write, nothing is kept. Writes made to the database
behind graphmem's back, not through it, are not seen until graphmem next writes.

Bounded by rows, least recently used first out, so a scope full of hubs costs at most
``max_rows`` kept relations (~1 KB each).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

Row = dict[str, Any]

MAX_ROWS = 100_000


class FanCache:
    """Rows per key, valid while the token they were read under is the graph's."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._token: Any = None
        self._fans: OrderedDict[Hashable, tuple[Row, ...]] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def take(
        self, token: Any, keys: Iterable[Hashable]
    ) -> tuple[dict[Hashable, tuple[Row, ...]], list]:
        """``(found, missing)`` for ``keys`` as of ``token``; a new token empties the cache."""
        found: dict[Hashable, tuple[Row, ...]] = {}
        missing = []
        with self._lock:
            self._renew(token)
            for key in keys:
                rows = self._fans.get(key) if token is not None else None
                if rows is None:
                    missing.append(key)
                else:
                    self._fans.move_to_end(key)
                    found[key] = rows
        return found, missing

    def put(self, token: Any, fans: Mapping[Hashable, Iterable[Row]]) -> None:
        """Keep ``fans`` read under ``token`` (nothing when the graph has none, or when it
        changed since: the rows may be older than what the cache now holds)."""
        if token is None:
            return
        with self._lock:
            if token != self._token:
                return
            for key, rows in fans.items():
                kept = tuple(rows)
                old = self._fans.pop(key, None)
                self._rows += len(kept) - (len(old) if old is not None else 0)
                self._fans[key] = kept
            while self._rows > self.max_rows and self._fans:
                _key, dropped = self._fans.popitem(last=False)
                self._rows -= len(dropped)

    def capped(
        self,
        token: Any,
        ids: Sequence[str],
        limit: int,
        keep: Sequence[str],
        where: Hashable,
        fans_of: Callable[[list[str]], tuple[Any, Iterable[Row]]],
        joining: Callable[[list[str], list[str]], list[Row]],
    ) -> list[Row]:
        """The capped relations of ``ids`` as of ``token`` (None: keep nothing), under the
        scope and time rule ``where``: each entity's from the cache or ``fans_of(missing
        ids)``, which gives the token and the rows (each naming its ``entity_id``) read
        together, in one transaction: on a cluster two reads may reach two members, and
        rows from a lagging one kept under a newer token would stay stale until the next
        write. They are kept only when that token is the one the cache holds. Those
        joining ``ids`` to ``keep``, which depend on the query, come from ``joining(ids,
        keep)`` each time, for the entities whose fan reached the cap (a hub; the others'
        fans are whole)."""
        keys = {i: (i, limit, where) for i in ids}
        fans, missing = self.take(token, keys.values())
        if missing:
            read: dict[Hashable, list[Row]] = {key: [] for key in missing}
            seen, rows = fans_of([key[0] for key in missing])
            for row in rows:
                read[keys[row.pop("entity_id")]].append(row)
            self.put(seen if token is not None else None, read)
            fans.update(read)
        # An entity with fewer than ``limit`` relations of each name was read whole: its
        # relations to the named entities are in its fan already.
        capped = [i for i in ids if _capped(fans[keys[i]], limit)]
        rows = [row for fan in fans.values() for row in fan]
        if keep and capped:
            rows += joining(capped, list(keep))
        return rows

    def _renew(self, token: Any) -> None:
        # No token (a read inside a transaction, or a database never stamped) uses nothing
        # kept and changes nothing: a search during a write must not empty the cache.
        if token is not None and token != self._token:
            self._fans.clear()
            self._rows = 0
            self._token = token


def _capped(fan: Sequence[Row], limit: int) -> bool:
    """Whether some relation name of an entity's fan reached the cap."""
    names = Counter(row["name"] for row in fan)
    return bool(names) and max(names.values()) >= limit
