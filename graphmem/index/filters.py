"""Which memories a read may return: validity in time, lifecycle, the caller's filters.

All are plain predicates over a payload dict so every channel (in-process indexes, the
vector store, fact rows from the graph) and every read (``get``, ``get_all``) applies
exactly the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from ..models import check_unicode, to_iso, visible_at

_SCALAR = (str, int)


def visible(row: Mapping[str, Any], as_of: str = "", include_invalid: bool = False) -> bool:
    """``models.visible_at`` applied to a payload or row."""
    return visible_at(
        row.get("valid_at") or "", row.get("invalid_at") or "", as_of, include_invalid
    )


def live(
    row: Mapping[str, Any],
    now: str,
    include_archived: bool = False,
    memory_types: frozenset[str] | None = None,
) -> bool:
    """The lifecycle rule (``graphmem/lifecycle``): not expired at ``now`` (never
    negotiable: an expired memory is gone for every reader), not archived unless asked
    for, and of one of ``memory_types`` when given. Missing keys read as the defaults."""
    expires = row.get("expires_at")
    if expires and expires <= now:
        return False
    if not include_archived and row.get("archived_at"):
        return False
    return memory_types is None or (row.get("memory_type") or "semantic") in memory_types


def check_as_of(as_of: object) -> str:
    """``None``/``""`` -> ``""``; a date, datetime or ISO string -> graphmem's UTC text."""
    if as_of is None or as_of == "":
        return ""
    try:
        return to_iso(as_of)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValidationError("as_of", exc.detail) from None


def check_filters(filters: object) -> dict[str, Any]:
    """A flat ``{payload key: value | [values]}`` map; dotted keys reach into ``metadata``."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ValidationError("filters", f"must be a dict, got {type(filters).__name__}")
    out: dict[str, Any] = {}
    for key, value in filters.items():
        if not isinstance(key, str) or not key:
            raise ValidationError("filters", f"keys must be non-empty strings, got {key!r}")
        check_unicode(key, "filters")
        for item in value if isinstance(value, list | tuple | set | frozenset) else [value]:
            if isinstance(item, str):
                check_unicode(item, f"filters.{key}")
        if isinstance(value, list | tuple | set | frozenset):
            if not all(isinstance(v, _SCALAR) and not isinstance(v, bool) for v in value):
                raise ValidationError("filters", f"{key}: any-of lists hold strings or integers")
            out[key] = list(value)
        elif isinstance(value, _SCALAR):  # bool is an int: allowed, compared exactly
            out[key] = value
        else:
            raise ValidationError(
                "filters",
                f"{key}: expected a string, integer, boolean or a list of them, "
                f"got {type(value).__name__}",
            )
    return out


def lookup(payload: Mapping[str, Any], key: str) -> Any:
    """``"metadata.topic"`` -> ``payload["metadata"]["topic"]`` (Qdrant's dotted keys)."""
    value: Any = payload
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def matches(payload: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Each filter holds: the payload's value is the wanted one (or one of an any-of list),
    or a list holding it. Nothing is hashed: a stored list may hold dicts or lists (they
    match nothing), where a set of it raised ``TypeError`` on every such search."""
    for key, want in filters.items():
        have = lookup(payload, key)
        if not any(_holds(have, one) for one in (want if isinstance(want, list) else [want])):
            return False
    return True


def _holds(have: Any, want: Any) -> bool:
    return _same(have, want) or (isinstance(have, list) and any(_same(h, want) for h in have))


def _same(have: Any, want: Any) -> bool:
    """Equal, a boolean only to a boolean: ``True`` is not ``1`` (as the stores match)."""
    if isinstance(have, bool) or isinstance(want, bool):
        return isinstance(have, bool) and isinstance(want, bool) and have == want
    return type(have) is not dict and have == want
