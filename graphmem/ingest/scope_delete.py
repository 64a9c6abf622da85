"""``delete_all``: every memory of a scope, page by page, then what they leave behind.

Whole pages of facts go at once, with no per-fact look at the relations they support:
the scope's relations and entities all go at the end anyway. That look fetched every
relation of a hub entity once per fact of the page (issue 20: past 6 GB for one entity
with 10k relations); here no statement returns rows.

Each page is a write of its own, undone in every store if it fails; the whole operation
is journaled besides, because between pages the graph still holds relations that name
facts already deleted. How it ends:

- **done**: the journal entry is closed;
- **killed between pages**: the next open finishes it (``Writer.recover``): nothing was
  acknowledged after it in that process;
- **raised before any page was written** (a store down at the start): nothing changed,
  so the entry is closed and the error is a clean failure, like any other write's;
- **raised after some pages**: the entry stays open, and the rest of the scope is deleted
  before the next write of this ``Memory`` (``ScopeDeletes.finish``), which raises
  instead if the store is still down. It used to wait for the next open, which deleted
  the memories added and acknowledged after the failure too (found by a fault-injection
  pass: a failed ``delete_all``, an ``add``, a reopen, and the ``add`` was gone).
"""

from __future__ import annotations

from typing import Any

from ..errors import CommitUncertainError
from ..models import HistoryEvent, Scope
from ..stores.base import FACTS
from .journal import Change, encode, journal, undo_failed

DELETE_SCOPE = "delete_all_scope"


class ScopeDeletes:
    """The scope deletions of one ``Writer``, and those that stopped part-way."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.unfinished: dict[int, Scope] = {}  # journal entry -> its scope
        self._finishing = False

    def remove(self, scope: Scope, page: int = 500, intent: int | None = None) -> int:
        """Delete every memory of ``scope`` and what they leave behind; returns how many."""
        writer = self.writer
        resumed = intent is not None  # an open's recovery, or ``finish``: pages went before
        if journal(writer.history) and intent is None:
            intent = writer.history.begin_intent(
                DELETE_SCOPE, encode(Change(DELETE_SCOPE, scope_entities=scope))
            )
        count = 0
        try:
            while hits := writer.vectors.scroll(FACTS, scope, limit=page):
                facts = [writer.fact_of(h) for h in hits]
                ids = [f.id for f in facts]
                events = [HistoryEvent("DELETE", f.id, f.scope, old_value=f.text,
                                       details={"by": "delete_all"}) for f in facts]  # fmt: skip
                writer.commit(Change("delete_all", [("fact_delete", {"ids": ids})],
                                     fact_deletes=ids, events=events))  # fmt: skip
                count += len(facts)
            # Fact nodes with no vector too, then entities with their relations and vectors.
            writer.commit(Change("delete_all", [("scope_delete_facts", scope.params()),
                                                ("scope_delete_entities", scope.params())],
                                 scope_entities=scope))  # fmt: skip
        except BaseException as exc:
            if intent is not None:
                self._stopped(intent, scope, count if not resumed else -1, exc)
            raise
        if intent is not None:
            writer.history.end_intent(intent)
            self.unfinished.pop(intent, None)
        return count

    def _stopped(self, intent: int, scope: Scope, count: int, exc: BaseException) -> None:
        """``count``: memories this call deleted, -1 for a call that resumed one."""
        # A page whose undo failed (or whose graph commit is uncertain) stays journaled on
        # its own; the whole deletion must then be finished too, not forgotten.
        if count == 0 and not isinstance(exc, CommitUncertainError) and not undo_failed(exc):
            self.writer.history.end_intent(intent)  # nothing was deleted: a clean failure
            return
        self.unfinished[intent] = scope
        done = f"{count} memories of {scope} deleted" if count > 0 else f"scope {scope}"
        exc.add_note(f"delete_all stopped part-way ({done}); the rest are deleted before "
                     "this Memory's next write, or call delete_all again")  # fmt: skip

    def finish(self) -> None:
        """Finish the deletions that stopped part-way, before any other write."""
        if not self.unfinished or self._finishing:
            return
        self._finishing = True
        try:
            for intent, scope in list(self.unfinished.items()):
                self.remove(scope, intent=intent)
        finally:
            self._finishing = False
