"""Input checks for ``Memory.add`` and friends: reject before anything is written."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..models import to_iso

RESERVED_METADATA = frozenset(
    {"id", "text", "user_id", "agent_id", "run_id", "created_at", "updated_at", "valid_at",
     "invalid_at", "hash", "source_ids", "role", "metadata"}
)  # fmt: skip
ROLES = frozenset({"user", "assistant", "system", "tool"})


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str = ""


def check_text(value: object, field: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        raise ValidationError(field, "is empty or only whitespace; pass the text to remember")
    if len(value) > max_chars:
        raise ValidationError(
            field,
            f"is {len(value):,} characters, over the limit of {max_chars:,}; split it into "
            "several add() calls or raise max_text_chars",
        )
    return stripped


def normalise_messages(messages: object, max_chars: int) -> list[Message]:
    """A string, one ``{role, content}`` dict, or a list of them -> validated messages."""
    if isinstance(messages, str):
        return [Message("user", check_text(messages, "messages", max_chars))]
    if isinstance(messages, Mapping):
        messages = [messages]
    if not isinstance(messages, list | tuple) or not messages:
        raise ValidationError(
            "messages", "expected a non-empty string, a {role, content} dict or a list of them"
        )
    out: list[Message] = []
    total = 0
    for i, item in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(
                where, f"must be a dict with role and content, got {type(item).__name__}"
            )
        role = item.get("role", "user")
        if role not in ROLES:
            raise ValidationError(f"{where}.role", f"{role!r} is not one of {sorted(ROLES)}")
        content = check_text(item.get("content"), f"{where}.content", max_chars)
        total += len(content)
        name = item.get("name") or ""
        if not isinstance(name, str):
            raise ValidationError(f"{where}.name", "must be a string")
        out.append(Message(role, content, name))
    if total > max_chars:
        raise ValidationError(
            "messages", f"total {total:,} characters is over the limit of {max_chars:,}"
        )
    return out


def check_metadata(metadata: object) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError("metadata", f"must be a dict, got {type(metadata).__name__}")
    bad = sorted(k for k in metadata if not isinstance(k, str) or k in RESERVED_METADATA)
    if bad:
        raise ValidationError("metadata", f"keys {bad} are reserved or not strings")
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise ValidationError("metadata", f"must be JSON-serialisable ({exc})") from None
    return dict(metadata)


def check_source_ids(source_ids: object) -> list[str]:
    if source_ids is None:
        return []
    if isinstance(source_ids, str) or not isinstance(source_ids, list | tuple):
        raise ValidationError("source_ids", "must be a list of strings")
    for s in source_ids:  # a loop, not all(<genexpr>): called once per ingested memory
        if not isinstance(s, str) or not s:
            raise ValidationError("source_ids", "must contain only non-empty strings")
    return list(source_ids)


def check_timestamp(value: object, field: str = "timestamp") -> str:
    if value is None or value == "":
        return ""
    try:
        return to_iso(value)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValidationError(field, str(exc).split(": ", 1)[-1]) from None


def check_limit(value: object, field: str = "limit", maximum: int = 10_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationError(field, f"must be an integer from 1 to {maximum}, got {value!r}")
    return value
