"""graphmem's objects as JSON values and back, under their Python field names.

The CLI's ``--json`` and the MCP tools' structured content share this one shape, so a
script that reads one can read the other: a dataclass becomes an object of its fields
(``Scope`` nested as ``{user_id, agent_id, run_id}``), lists and mappings recurse, and
anything else JSON cannot hold becomes its text. ``Hit`` also carries two derived keys,
``explanation`` (``hit.explain()``) and ``said_by`` (``hit.said_by()``), so a reader with
only ``jq`` sees why a memory was found and who said it.

    >>> from_jsonable(Fact, to_jsonable(fact)) == fact          # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from .errors import ValidationError
from .models import Hit

T = TypeVar("T")
# Keys added for readers, not fields: dropped again by from_jsonable.
DERIVED = frozenset({"explanation", "said_by"})


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dict, list, str, int, float, bool, None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Hit):
            data["explanation"] = value.explain()
            data["said_by"] = value.said_by()
        return data
    if isinstance(value, float) and not math.isfinite(value):
        # NaN and the infinities (a Cypher result: 0.0 / 0.0) have no JSON form: a strict
        # parser refuses them, and the server answered 500. null, as JavaScript writes them.
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def from_jsonable(cls: type[T], data: Any) -> T:
    """Rebuild a graphmem dataclass from ``to_jsonable`` output; unknown keys are an error."""
    if not isinstance(data, Mapping):
        raise ValidationError(cls.__name__, f"expected a JSON object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names - DERIVED)
    if unknown:
        raise ValidationError(cls.__name__, f"unknown fields {', '.join(unknown)}")
    hints = _hints(cls)
    return cls(**{k: _convert(hints[k], v) for k, v in data.items() if k in names})


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if dataclasses.is_dataclass(hint):
        return from_jsonable(hint, value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and args and isinstance(value, list):
        return [_convert(args[0], v) for v in value]
    if origin in (typing.Union, types.UnionType):
        # "X | None" and the like: the first dataclass member that fits an object.
        for member in args:
            if dataclasses.is_dataclass(member) and isinstance(value, Mapping):
                return from_jsonable(member, value)
    return value


__all__ = ["DERIVED", "from_jsonable", "to_jsonable"]
