"""The lifecycle fields of a memory, and the checks on what callers give for them.

Every memory carries, in its vector payload (the graph keeps only text, scope and times):

- ``memory_type``: "semantic" (facts extracted with ``infer=True``), "episodic" (turns
  stored as said, ``infer=False``), "procedural" or "rule";
- ``importance`` in [0, 1]: the caller's, else the extractor's, else 0.5;
- ``expires_at``: "" (never) or when it stops appearing in reads;
- ``archived_at``: set by ``archive()`` or the archival policy, cleared by ``restore()``;
- ``access_count`` / ``last_accessed_at``: how often and when reads returned it;
- ``promoted_from``: on a copy promoted from a run scope, the original's id.

Payloads written before these fields existed lack the keys and read as the defaults.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors import ValidationError
from ..models import Scope, to_iso

MEMORY_TYPES = ("semantic", "episodic", "procedural", "rule")
SCOPE_KINDS = ("user", "agent", "run")
DEFAULT_IMPORTANCE = 0.5
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_TTL_MAX = timedelta(days=365 * 1000)


@dataclass(frozen=True)
class Life:
    """What one ``add`` (or one ``add_many`` item) asks for; ``None`` = the default."""

    memory_type: str | None = None
    importance: float | None = None
    expires_at: str = ""
    promoted_from: str = ""  # set by maintain() on a long-term copy

    def memory_type_for(self, infer: bool, hint: str = "") -> str:
        """The caller's type, else the extractor's hint (``ExtractedFact.memory_type``:
        "rule" for a standing instruction), else semantic with infer, episodic without."""
        if self.memory_type:
            return self.memory_type
        if hint in MEMORY_TYPES:
            return hint
        return "semantic" if infer else "episodic"

    def importance_for(self, extracted: object) -> float:
        """The caller's importance, else the extractor's when it gave a usable one."""
        if self.importance is not None:
            return self.importance
        if _is_number(extracted) and 0.0 <= float(extracted) <= 1.0:
            return float(extracted)
        return DEFAULT_IMPORTANCE


def check_life(
    memory_type: object = None,
    importance: object = None,
    ttl: object = None,
    expires_at: object = None,
    *,
    now: datetime,
    where: str = "",
) -> Life:
    """Validate the lifecycle arguments of one add. ``where`` prefixes field names
    (``items[3].``) so an ``add_many`` error points at the item."""
    kind = check_memory_type(memory_type, f"{where}memory_type")
    weight = check_importance(importance, f"{where}importance")
    if ttl is not None and expires_at is not None:
        raise ValidationError(f"{where}ttl", "give ttl or expires_at, not both")
    expiry = ""
    if ttl is not None:
        expiry = to_iso(now + parse_ttl(ttl, f"{where}ttl"))
    elif expires_at is not None:
        expiry = _check_expires_at(expires_at, now, f"{where}expires_at")
    return Life(kind, weight, expiry)


def check_memory_type(value: object, field: str = "memory_type") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in MEMORY_TYPES:
        raise ValidationError(
            field, f"{value!r} is not a memory type; use one of {', '.join(MEMORY_TYPES)}"
        )
    return value


def check_memory_types(value: object, field: str = "memory_types") -> frozenset[str] | None:
    """A read filter: ``None`` (every type), one type name, or a list of them."""
    if value is None:
        return None
    items: Iterable[object] = [value] if isinstance(value, str) else value  # type: ignore[assignment]
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValidationError(field, f"must be a list of memory types, got {type(value).__name__}")
    if not items:
        raise ValidationError(field, f"is empty; name at least one of {', '.join(MEMORY_TYPES)}")
    if any(v is None for v in items):  # matched nothing: every read came back empty
        raise ValidationError(field, f"holds None; name memory types: {', '.join(MEMORY_TYPES)}")
    return frozenset(check_memory_type(v, field) for v in items)  # type: ignore[misc]


def check_importance(value: object, field: str = "importance") -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValidationError(field, f"must be a number from 0 to 1, got {value!r}")
    return float(value)


def parse_ttl(value: object, field: str = "ttl") -> timedelta:
    """``"30s"``, ``"15m"``, ``"12h"``, ``"7d"``, ``"2w"``, a number of seconds or a
    ``timedelta``; it must be positive."""
    if isinstance(value, timedelta):
        span = value
    elif _is_number(value):
        span = _span(float(value))
    elif isinstance(value, str) and (found := _TTL.match(value)):
        span = _span(float(found[1]) * _UNIT_SECONDS[found[2]])
    else:
        raise ValidationError(
            field, f"{value!r} is not a duration; use e.g. '30s', '15m', '12h', '7d', '2w', "
            "a number of seconds or a timedelta",
        )  # fmt: skip
    if span <= timedelta(0) or span > _TTL_MAX:
        raise ValidationError(field, f"{value!r} must be a positive duration of under 1000 years")
    return span


def _span(seconds: float) -> timedelta:
    """``seconds`` as a timedelta, held just outside the accepted range on either side:
    timedelta overflows past ~1e14 days (a ttl of -1e20 raised OverflowError, a 500 over
    REST)."""
    return timedelta(seconds=max(-1.0, min(seconds, _TTL_MAX.total_seconds() + 1)))


def _check_expires_at(value: object, now: datetime, field: str) -> str:
    try:
        text = to_iso(value)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValidationError(field, exc.detail) from None
    if not text:
        raise ValidationError(field, "is empty; leave it out for a memory that never expires")
    if text <= to_iso(now):
        raise ValidationError(
            field, f"{text} is not in the future (now is {to_iso(now)}); such a memory "
            "would never be readable, so nothing was written",
        )  # fmt: skip
    return text


def _is_number(value: object) -> bool:
    """A finite int or float, not a bool; an int too large for a float is none (10**400
    raised OverflowError out of ``float()``)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


LIFE_KEYS = ("memory_type", "importance", "ttl", "expires_at")


def item_life(base: dict[str, object], item: dict | object, *, now: datetime, where: str) -> Life:
    """An ``add_many`` item's lifecycle: the call's arguments, overridden key by key by
    the item's own. An item giving ``ttl`` or ``expires_at`` replaces both of the call's."""
    own = {k: item[k] for k in LIFE_KEYS if k in item}  # type: ignore[operator,index]
    given = dict(base)
    if "ttl" in own or "expires_at" in own:
        given.update(ttl=None, expires_at=None)
    given.update(own)
    return check_life(**given, now=now, where=where)  # type: ignore[arg-type]


def default_expiry(memory_type: str, scope: Scope, config: Any, now: datetime) -> str:
    """When a new memory expires by the config's defaults (``ttl_by_type``,
    ``ttl_by_scope``; the shorter where both apply), or "" for never."""
    kind = "run" if scope.run_id else "agent" if scope.agent_id else "user"
    spans = [parse_ttl(table[key], name) for name, table, key in (
        ("ttl_by_type", config.ttl_by_type, memory_type),
        ("ttl_by_scope", config.ttl_by_scope, kind)) if key in table]  # fmt: skip
    return to_iso(now + min(spans)) if spans else ""
