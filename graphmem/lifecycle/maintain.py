"""``Memory.maintain()``: expiry, archival by policy and promotion, in one pass.

1. **Expiry.** Memories whose ``expires_at`` has passed are deleted, with the graph data
   only they supported, and logged as EXPIRE events (the text stays in the event's
   ``old_value``). Reads hid them from the moment they expired; deleting them, rather than
   keeping them invisible, frees the stores and takes their relations out of the graph
   API, which never filtered on payloads. Nothing could read them again anyway.
2. **Archival** (``Config.archive_after_days`` > 0 turns it on): a memory older than that,
   with importance below ``archive_importance_below`` and, when
   ``archive_never_accessed``, never returned by a read, is archived (ARCHIVE event,
   ``details.by = "policy"``). Rules and procedures are standing knowledge: the policy
   leaves them alone (``archive()`` still archives one on request).
3. **Promotion** (``promote_min_access`` or ``promote_min_importance`` > 0): a current,
   unarchived run-scoped memory read at least that often, or at least that important, is
   copied into its user/agent scope (run dropped) with ``promoted_from`` = its id and a
   PROMOTE event for the copy. A memory whose copy exists is skipped, so running
   maintenance twice promotes once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..models import Fact, Scope, to_iso
from ..stores.base import FACTS, VectorPoint

_PAGE = 1000
# Memories whose read counts one write stores: searches wait for each write (~25 ms for
# 50 at 100k memories a scope, measured; 100 held them ~50 ms). At 500k memories in five
# scopes, hybrid p95 with a flush every 5 s was 40.8 ms at 50 and 32.4 ms at 16 (34.9 ms
# with no flush; benchmarks/results/speed/1m/README.md, section 19).
_ACCESS_CHUNK = 16
KEEP_TYPES = ("rule", "procedural")  # never archived by the policy


@dataclass
class MaintainReport:
    """What one ``maintain()`` changed: memory ids, and the copies promotion made."""

    expired: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    promoted: list[str] = field(default_factory=list)  # the run-scoped originals
    copies: list[str] = field(default_factory=list)  # their long-term copies, in order

    def to_dict(self) -> dict[str, Any]:
        return {"expired": list(self.expired), "archived": list(self.archived),
                "promoted": list(self.promoted), "copies": list(self.copies)}  # fmt: skip


def every_fact(vectors: Any, scope: Scope) -> list[Fact]:
    from ..ingest.write import fact_from_payload

    out: list[Fact] = []
    at = 0
    while hits := vectors.scroll(FACTS, scope, limit=_PAGE, offset=at):
        out += [fact_from_payload(h) for h in hits]
        if len(hits) < _PAGE:
            break
        at += _PAGE
    return out


def expired(facts: list[Fact], now: str) -> list[Fact]:
    return [f for f in facts if f.expires_at and f.expires_at <= now]


def to_archive(facts: list[Fact], now: datetime, config: Any) -> list[Fact]:
    days = config.archive_after_days
    if days <= 0:
        return []
    before = to_iso(now - timedelta(days=days))
    out = []
    for f in facts:
        if f.archived_at or f.memory_type in KEEP_TYPES:
            continue
        if (f.created_at or before) > before or f.importance >= config.archive_importance_below:
            continue
        if config.archive_never_accessed and f.access_count:
            continue
        if f.last_accessed_at and f.last_accessed_at > before:
            continue  # read recently: not stale, whatever the rest says
        out.append(f)
    return out


def to_promote(facts: list[Fact], config: Any) -> list[Fact]:
    reads, weight = config.promote_min_access, config.promote_min_importance
    if reads <= 0 and weight <= 0:
        return []
    return [f for f in facts
            if f.scope.run_id and (f.scope.user_id or f.scope.agent_id)
            and not f.invalid_at and not f.archived_at
            and ((reads > 0 and f.access_count >= reads)
                 or (weight > 0 and f.importance >= weight))]  # fmt: skip


def long_term(scope: Scope) -> Scope:
    return Scope(scope.user_id, scope.agent_id, "")


# -- the operations (Memory's methods delegate here) --------------------------------------


def set_archived(memory: Any, memory_id: str, scope_ids: dict, archived: bool) -> Fact:
    """``archive()`` / ``restore()``: one memory of the caller's scope, ARCHIVE or RESTORE
    logged. Archiving an archived memory (or restoring a live one) changes nothing."""
    from dataclasses import replace

    from ..models import HistoryEvent
    from .clock import now_text

    with memory._writing:
        fact = memory._fetch(memory_id, scope_ids)
        if bool(fact.archived_at) == archived:
            return fact
        now = now_text(memory.clock)
        new = replace(fact, archived_at=now if archived else "")
        name = "ARCHIVE" if archived else "RESTORE"
        event = HistoryEvent(name, fact.id, fact.scope, old_value=fact.text,
                             details={"by": "request"})  # fmt: skip
        memory.writer.restamp([new], [event], name.lower())
    return new


def write_access(memory: Any, taken: dict[str, tuple[int, str]]) -> None:
    """Add noted reads to the payloads (``access.AccessLog``'s flush), removing from
    ``taken`` what is stored. Memories deleted since they were read are skipped.

    Each payload is read once and only its two count fields change (``Writer.recount``
    writes them): a round trip through ``Fact`` and a journaled commit cost a flush twice
    the time, which searches shared the processor with (below)."""
    ids = sorted(taken)
    # A write shuts out searches (locks.py): a chunk at a time, searches get in between.
    for start in range(0, len(ids), _ACCESS_CHUNK):
        with memory._writing:
            points = []
            for hit in memory.vectors.get(FACTS, ids[start : start + _ACCESS_CHUNK]):
                count, last = taken[hit.id]
                payload = dict(hit.payload)
                payload["access_count"] = int(payload.get("access_count") or 0) + count
                payload["last_accessed_at"] = max(str(payload.get("last_accessed_at") or ""),
                                                  last)  # fmt: skip
                points.append(VectorPoint(hit.id, None, payload))  # type: ignore[arg-type]
            if points:
                memory.writer.recount(points)
            for memory_id in ids[start : start + _ACCESS_CHUNK]:
                del taken[memory_id]  # stored: a failure later must not count it again


def maintain(memory: Any, now: datetime, scope: Scope) -> MaintainReport:
    """Expire, archive and promote in ``scope`` (``Scope()``: every scope) as of ``now``."""
    from dataclasses import replace

    from ..models import HistoryEvent

    report = MaintainReport()
    if memory.access is not None:
        memory.access.flush()  # promotion and archival see every read so far
    stamp = to_iso(now)
    with memory._writing:
        facts = every_fact(memory.vectors, scope)
        gone = expired(facts, stamp)
        for start in range(0, len(gone), _PAGE):
            memory.writer.remove(gone[start : start + _PAGE], event_name="EXPIRE")
        report.expired = [f.id for f in gone]
        left = [f for f in facts if f.id not in set(report.expired)]
        stale = to_archive(left, now, memory.config)
        if stale:
            events = [HistoryEvent("ARCHIVE", f.id, f.scope, old_value=f.text,
                                   details={"by": "policy"}) for f in stale]  # fmt: skip
            memory.writer.restamp([replace(f, archived_at=stamp) for f in stale], events,
                                  "archive")  # fmt: skip
        report.archived = [f.id for f in stale]
        for target, originals in _unpromoted(memory, to_promote(left, memory.config)).items():
            copies = memory._promote(originals, target)
            report.promoted += [f.promoted_from for f in copies]
            report.copies += [f.id for f in copies]
    return report


def _unpromoted(memory: Any, wanted: list[Fact]) -> dict[Scope, list[Fact]]:
    """``wanted`` by the scope each is promoted to, less those that have a copy there or
    had one: a copy the user deleted was promoted again, under the same id, by the next
    ``maintain`` (its history read PROMOTE, DELETE, PROMOTE)."""
    by_target: dict[Scope, list[Fact]] = {}
    for fact in wanted:
        by_target.setdefault(long_term(fact.scope), []).append(fact)
    # A history store of the caller's own may lack it: then a copy that exists is the test.
    ever = getattr(memory.history_store, "promoted_into", None)
    for target, facts in list(by_target.items()):
        ids = [f.id for f in facts]
        done = {str(h.payload.get("promoted_from")) for h in memory.vectors.scroll(
            FACTS, target, limit=len(ids), filters={"promoted_from": ids})}  # fmt: skip
        if ever is not None:
            done |= ever(target)
        by_target[target] = [f for f in facts if f.id not in done]
    return {t: facts for t, facts in by_target.items() if facts}
