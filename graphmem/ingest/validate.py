"""Input checks for ``Memory.add`` and friends: reject before anything is written."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ..errors import ExtractionError, ValidationError
from ..models import check_unicode, to_iso

RESERVED_METADATA = frozenset(
    {"id", "text", "user_id", "agent_id", "run_id", "created_at", "updated_at", "valid_at",
     "invalid_at", "hash", "source_ids", "role", "metadata"}
)  # fmt: skip
ROLES = frozenset({"user", "assistant", "system", "tool"})
# Other roles an OpenAI-compatible history carries, read as the role they stand for:
# "developer" is the system message of OpenAI's newer models, "function" the legacy
# tool result. Refused, a history passed as it is failed on its first message.
ROLE_ALIASES = {"developer": "system", "function": "tool"}
# Metadata is stored as JSON in every store: deeper nesting hit Python's recursion limit
# inside json (a RecursionError, not an error naming the field), and a large blob is copied
# into every payload, history row and index entry of the memory.
MAX_METADATA_DEPTH = 20
MAX_METADATA_BYTES = 64 * 1024
MAX_SOURCE_IDS = 1_000
MAX_ID_CHARS = 1_000
# What an ``add_many`` item may hold. A key outside these was dropped without a word, so a
# misspelt "metdata" lost the metadata and an item's own "user_id" was stored in the
# call's scope; now each is named.
ITEM_KEYS = ("text", "messages", "metadata", "source_ids", "timestamp", "memory_type",
             "importance", "ttl", "expires_at")  # fmt: skip
_SCOPE_KEYS = frozenset({"user_id", "agent_id", "run_id"})
# Said the same over every surface (library, REST, MCP): no call of one surface named.
_SPLIT = (
    "split it into parts and add each on its own, or raise max_text_chars "
    "(a server: GRAPHMEM_MAX_TEXT_CHARS)"
)


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str = ""


def visible(text: str) -> bool:
    """Whether ``text`` has a character that is neither space nor format (zero-width
    spaces, joiners, BOMs): nothing else could ever be matched by a search."""
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in text)


def check_text(value: object, field: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    check_unicode(value, field)
    stripped = value.strip()
    if not stripped:
        raise ValidationError(field, "is empty or only whitespace; pass the text to remember")
    if not visible(stripped):
        # Zero-width spaces, joiners, BOMs: nothing a search could ever match.
        raise ValidationError(field, "has only invisible characters (zero-width spaces or "
                              "other format characters); pass the text to remember")  # fmt: skip
    if len(value) > max_chars:
        raise ValidationError(
            field,
            f"is {len(value):,} characters, over the limit of {max_chars:,}; {_SPLIT}",
        )
    return stripped


def check_item(item: object, where: str) -> Mapping[str, Any]:
    """An ``add_many`` item: a mapping with ``text`` or ``messages`` (not both) and no key
    outside ``ITEM_KEYS``; ``where`` ("items[3]") names it in the error."""
    if not isinstance(item, Mapping):
        raise ValidationError(where, "must be a dict with text or messages")
    check_keys(item, where, "an item", ITEM_KEYS)
    if "text" in item and "messages" in item:
        raise ValidationError(where, "has both text and messages; give one of them")
    return item


def normalise_messages(messages: object, max_chars: int) -> list[Message]:
    """A string, one ``{role, content}`` dict, or a list of them -> validated messages,
    ``max_chars`` at most in all."""
    out = _messages(messages, max_chars)
    total = sum(len(m.content) for m in out)
    if total > max_chars:
        raise ValidationError(
            "messages", f"total {total:,} characters is over the limit of {max_chars:,}; "
            + _SPLIT,
        )  # fmt: skip
    return out


def message_windows(messages: object, max_chars: int) -> list[list[Message]]:
    """``normalise_messages``, but a conversation longer than ``max_chars`` in all comes
    back as consecutive windows of whole messages, each within it: a long chat is read a
    window at a time (one extraction, one kept source each) instead of refused. One
    message over the limit is still refused."""
    windows: list[list[Message]] = [[]]
    size = 0
    for message in _messages(messages, max_chars):
        if windows[-1] and size + len(message.content) > max_chars:
            windows.append([])
            size = 0
        windows[-1].append(message)
        size += len(message.content)
    return windows


def _messages(messages: object, max_chars: int) -> list[Message]:
    if isinstance(messages, str):
        return [Message("user", check_text(messages, "messages", max_chars))]
    if isinstance(messages, Mapping):
        messages = [messages]
    if not isinstance(messages, list | tuple) or not messages:
        raise ValidationError(
            "messages", "expected a non-empty string, a {role, content} dict or a list of them"
        )
    out: list[Message] = []
    several = len(messages) > 1
    for i, item in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(
                where, f"must be a dict with role and content, got {type(item).__name__}"
            )
        _message_keys(item, where)
        role = item.get("role", "user")
        role = ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
        if not isinstance(role, str) or role not in ROLES:
            raise ValidationError(f"{where}.role", f"{repr(role)[:80]} is not one of "
                                  f"{sorted(ROLES | ROLE_ALIASES.keys())}")  # fmt: skip
        content = _content_text(item.get("content"), f"{where}.content")
        if several and _says_nothing(content):
            continue  # a model's tool-call turn or an image: nothing in words to remember
        content = check_text(content, f"{where}.content", max_chars)
        name = item.get("name")
        name = "" if name is None else name
        if not isinstance(name, str) or len(name) > 200:
            raise ValidationError(f"{where}.name", "must be a string of at most 200 characters")
        check_unicode(name, f"{where}.name")
        out.append(Message(role, content, name))
    if not out:
        raise ValidationError("messages", "no message has any text (each is empty, a tool "
                              "call or an image); pass the text to remember")  # fmt: skip
    return out


def _content_text(content: object, where: str) -> object:
    """A message's content as text. OpenAI-style content parts (``[{"type": "text",
    "text": ...}, {"type": "image_url", ...}]``) give their text parts, one per line; a
    part of another type holds nothing to remember and is passed over. Anything else is
    returned as it is, for ``check_text`` to judge."""
    if not isinstance(content, list | tuple):
        return content
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise ValidationError(f"{where}[{j}]", "a content part must be a dict with a "
                                  "type, such as {\"type\": \"text\", \"text\": \"...\"}")  # fmt: skip
        if part["type"] == "text":
            if not isinstance(part.get("text"), str):
                raise ValidationError(f"{where}[{j}].text", "a text part's text must be a string")
            texts.append(part["text"])
    return "\n".join(texts)


def _says_nothing(content: object) -> bool:
    """A turn of a conversation with no words in it: a model's message that only calls a
    tool (content ``None``), an empty or blank one, or content parts with no text. In a
    conversation it is passed over; alone, it is refused as before."""
    return content is None or (isinstance(content, str) and not content.strip())


def spoken_places(messages: object) -> list[int] | None:
    """The positions of a conversation's messages that ``_messages`` keeps (those that
    say something), or None when it keeps them all or ``messages`` is no conversation:
    a caller's per-message source ids are matched to the messages by it."""
    if not isinstance(messages, list | tuple) or len(messages) < 2:
        return None
    places = []
    for i, item in enumerate(messages):
        try:
            content = _content_text(item.get("content"), "") if isinstance(item, Mapping) else ""
        except ValidationError:
            content = ""
        if not _says_nothing(content):
            places.append(i)
    return None if len(places) == len(messages) else places


# What a message dict holds: role, content and the speaker's name are read; the other
# keys an OpenAI-compatible chat message carries are let through unread, so a model's
# history can be passed as it is. Any other key is a mistake ("nmae") and is refused.
MESSAGE_KEYS = ("role", "content", "name")
_CHAT_KEYS = frozenset({"tool_calls", "tool_call_id", "function_call", "refusal", "audio",
                        "annotations"})  # fmt: skip


def _message_keys(item: Mapping[str, Any], where: str) -> None:
    check_keys(item, where, "a message", MESSAGE_KEYS, also=_CHAT_KEYS)


def check_keys(item: Mapping[str, Any], where: str, what: str, keys: Sequence[str],
               also: frozenset[str] = frozenset()) -> None:  # fmt: skip
    """Refuse a key of ``item`` outside ``keys`` (and ``also``, let through unread), naming
    it: a misspelt key ("nmae", "valid_from") was dropped, and what it held lost."""
    for key in item:
        if key in keys or key in also:
            continue
        if key in _SCOPE_KEYS:
            raise ValidationError(f"{where}.{key}", f"{what} has no scope of its own; it goes "
                                  f"to the call's scope, so give {key}= per call")  # fmt: skip
        raise ValidationError(
            f"{where}.{key}" if isinstance(key, str) else where,
            f"unknown key {str(key)[:80]!r}; {what} takes {', '.join(keys)}",
        )


def check_metadata(metadata: object) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValidationError("metadata", f"must be a dict, got {type(metadata).__name__}")
    bad = sorted(repr(k) for k in metadata if not isinstance(k, str) or k in RESERVED_METADATA)
    if bad:
        raise ValidationError("metadata", f"keys {', '.join(bad)} are reserved or not strings")
    _check_json_tree(metadata)
    try:
        size = len(json.dumps(metadata, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise ValidationError("metadata", f"must be JSON-serialisable ({exc})") from None
    if size > MAX_METADATA_BYTES:
        raise ValidationError(
            "metadata",
            f"is {size:,} bytes as JSON, over the limit of {MAX_METADATA_BYTES:,}; keep large "
            "data elsewhere and store a reference to it",
        )
    return dict(metadata)


def _check_json_tree(metadata: Mapping[str, Any]) -> None:
    """Walk the tree without recursion: types JSON can hold, finite numbers, text that is
    valid Unicode, depth at most ``MAX_METADATA_DEPTH``."""
    stack: list[tuple[object, str, int]] = [(metadata, "metadata", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, Mapping | list | tuple) and depth > MAX_METADATA_DEPTH:
            raise ValidationError(
                "metadata",
                f"is nested more than {MAX_METADATA_DEPTH} levels deep (at {path}); flatten it",
            )
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValidationError("metadata", f"key {key!r} at {path} is not a string")
                check_unicode(key, "metadata")
                if "." in key:  # filters read "metadata.a.b" as a path: "a.b" was unreachable
                    raise ValidationError("metadata", f"key {key[:60]!r} at {path} holds a "
                                          "'.', which filters read as a step into nested "
                                          "metadata, so it could never be filtered on; use "
                                          "another character ('_') or nest it as {'a': {'b': "
                                          "...}}")  # fmt: skip
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list | tuple):
            stack += [(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        elif isinstance(value, str):
            check_unicode(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(path, f"{value!r} is not a finite number; JSON cannot hold it")
        elif value is not None and not isinstance(value, bool | int | float):
            kind = type(value).__name__
            raise ValidationError(path, f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} is not "
                                  "JSON (use strings, numbers, lists, dicts)")  # fmt: skip


def check_source_ids(source_ids: object) -> list[str]:
    if source_ids is None:
        return []
    if isinstance(source_ids, str) or not isinstance(source_ids, list | tuple):
        raise ValidationError("source_ids", "must be a list of strings")
    if len(source_ids) > MAX_SOURCE_IDS:
        raise ValidationError(
            "source_ids", f"holds {len(source_ids):,} ids, over {MAX_SOURCE_IDS:,}"
        )
    for s in source_ids:  # a loop, not all(<genexpr>): called once per ingested memory
        if not isinstance(s, str) or not s.strip() or len(s) > MAX_ID_CHARS:
            raise ValidationError(
                "source_ids",
                f"must contain only non-empty strings of at most {MAX_ID_CHARS:,} characters",
            )
        check_unicode(s, "source_ids")
    return list(source_ids)


def check_timestamp(value: object, field: str = "timestamp") -> str:
    if value is None or value == "":
        return ""
    try:
        return to_iso(value)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValidationError(field, exc.detail) from None


def check_limit(value: object, field: str = "limit", maximum: int = 10_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationError(field, f"must be an integer from 1 to {maximum}, got {value!r}")
    return value


def check_extraction(found: Any, extractor: Any, max_chars: int, max_items: int) -> Any:
    """Hold an extractor's output (a model's, usually) to the limits the caller's input has.

    A model once turned one short message into a 1 MB "fact" and 3,000 entities, and all of
    it was stored; its text can also carry lone surrogates no store can encode. The whole
    answer is refused (``ExtractionError``), so nothing of it is written.
    """
    who = getattr(extractor, "name", type(extractor).__name__)
    counted = not getattr(extractor, "bounded_by_input", False)  # the offline extractor's
    problems: list[str] = []
    for kind in ("facts", "entities", "relations"):
        items = getattr(found, kind, None)
        if not isinstance(items, list):
            raise ExtractionError(f"extractor {who!r} returned no {kind} list")
        if counted and len(items) > max_items:
            problems.append(f"{len(items):,} {kind}, over the limit of {max_items:,} per "
                            "extraction (max_extracted_items)")  # fmt: skip
    strings: list[tuple[str, object]] = []
    for i, fact in enumerate(found.facts):
        strings.append((f"facts[{i}].text", fact.text))
    for i, entity in enumerate(found.entities):
        strings.append((f"entities[{i}].name", entity.name))
        strings.append((f"entities[{i}].type", entity.type))
        strings += [(f"entities[{i}].aliases", a) for a in entity.aliases]
    for i, rel in enumerate(found.relations):
        strings += [(f"relations[{i}].source", rel.source), (f"relations[{i}].target", rel.target),
                    (f"relations[{i}].relation", rel.relation)]  # fmt: skip
    for path, text in strings:
        if not isinstance(text, str):
            problems.append(f"{path} is a {type(text).__name__}, not a string")
        elif len(text) > max_chars:
            problems.append(f"{path} is {len(text):,} characters, over max_text_chars "
                            f"{max_chars:,}")  # fmt: skip
        else:
            try:
                check_unicode(text, path)
            except ValidationError as exc:
                problems.append(str(exc))
            else:
                if path.endswith((".text", ".name", ".source", ".target")) and not visible(text):
                    problems.append(f"{path} has no visible character ({text!r}), which "
                                    "add() refuses as input too")  # fmt: skip
        if len(problems) >= 5:
            break
    if problems:
        raise ExtractionError(
            f"extractor {who!r} returned output over graphmem's limits, so nothing of it was "
            f"stored: {'; '.join(problems)}. Split the input, use another model, or raise the limit"
        )
    return found


def canonical_id(value: object, field: str = "memory_id") -> str:
    """Ids are lower-case UUIDs; the vector store parses an upper-case one but the history
    log compares text, so every id a caller gives is normalised here, once."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(field, f"is blank ({value!r}); give a memory's id, as add() "
                              "and get_all() return it")  # fmt: skip
    value = check_unicode(value.strip(), field)
    if len(value) > 200:
        raise ValidationError(field, f"is {len(value):,} characters; ids are 36-character UUIDs")
    try:
        return str(UUID(value))
    except ValueError:
        return value  # not a UUID: nothing graphmem wrote has this id, "not found" follows


def uuid_like(value: str) -> bool:
    """Whether ``value`` has a UUID's shape, as every id graphmem writes does."""
    return len(value) == 36 and value.count("-") == 4
