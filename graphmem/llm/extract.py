"""The LLM extractor: one model call per text for facts, entities and relations together.

Model output is checked strictly before anything downstream sees it: wrong types, missing
fields, relations pointing at entities or facts that do not exist, unsafe relation names
and unreadable dates all raise ``ExtractionError`` with the model's text in ``.raw``.
Two things are repaired rather than refused, on purpose:

- an entity type outside ``ENTITY_TYPES`` becomes ``"other"``: the label only gates
  entity merges, and losing every fact of a message over "company" vs "organization" is
  the worse trade;
- a relation endpoint that is not in the answer's entities but is a known entity of the
  scope is added to the entities, so every endpoint resolves.

Unknown extra keys are ignored (models like to add "reasoning"), and so is an importance
that is not a number: it is clamped to [0, 1] when it is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ExtractionError, ValidationError
from ..ingest.procedural import Procedure
from ..ingest.turns import transcript
from ..ingest.validate import Message
from ..models import (
    ExtractedEntity,
    ExtractedFact,
    ExtractedRelation,
    Extraction,
    check_relation_name,
    name_key,
    to_iso,
)
from ..stores.base import KnownEntity
from .client import OpenAIChat
from .procedure import summarise
from .prompts import ENTITY_TYPES, Prompts

_DATE = {"type": ["string", "null"], "description": "ISO date, or null when not stated"}

EXTRACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "valid_at": _DATE,
                    "importance": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 1,
                        "description": "how much the fact is worth keeping, 0 to 1",
                    },
                    "rule": {
                        "type": "boolean",
                        "description": "a standing instruction to the assistant",
                    },
                    "said_by": {
                        "type": "string",
                        "description": "in a conversation: the role in brackets that leads "
                        "the line the fact comes from (user, assistant, ...)",
                    },
                },  # fmt: skip
                "required": ["text"],
            },
        },
        "entities": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "type": {"type": "string", "enum": list(ENTITY_TYPES)},
                    "aliases": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "type"],
            },
        },
        "relations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "source": {"type": "string"},
                    "relation": {"type": "string", "description": "snake_case verb phrase"},
                    "target": {"type": "string"},
                    "fact": {"type": "integer", "minimum": 0},
                    "valid_at": _DATE,
                    "invalid_at": _DATE,
                },
                "required": ["source", "relation", "target", "fact"],
            },
        },
    },
    "required": ["facts", "entities", "relations"],
}

EVENTS = ("ADD", "UPDATE", "DELETE", "NONE")

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "decisions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "event": {"type": "string", "enum": list(EVENTS)},
                    "id": {"type": ["string", "null"], "description": "a stored memory id"},
                    "text": {"type": "string"},
                },
                "required": ["event", "id", "text"],
            },
        }
    },
    "required": ["decisions"],
}


@dataclass
class Decision:
    """What to do with memory: ``id`` is the real memory id (None for ADD).

    ``previous`` is the stored text the decision refers to ("" for ADD).
    """

    event: str
    id: str | None
    text: str
    previous: str = ""


class LLMExtractor:
    """``Extractor`` backed by an OpenAI-compatible chat model; ``decide`` for updates."""

    def __init__(self, chat: OpenAIChat, prompts: Prompts | None = None) -> None:
        self.chat = chat
        self.prompts = prompts or Prompts()
        self.name = f"llm:{chat.model}"

    @property
    def calls(self) -> int:
        return self.chat.calls

    def forget_last(self) -> None:
        """The last answer on this thread was refused: it must not be served again."""
        self.chat.forget_last()

    def extract(
        self,
        text: str,
        *,
        speaker: str = "user",
        known: Sequence[KnownEntity] = (),
        reference_time: str = "",
    ) -> Extraction:
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("text", "must be a non-empty string")
        user = self.prompts.extraction_user(
            text, speaker=speaker, known=known, reference_time=reference_time
        )
        return self._extract(user, known)

    def extract_conversation(
        self,
        turns: Sequence[Message],
        *,
        speaker: str = "user",
        known: Sequence[KnownEntity] = (),
        reference_time: str = "",
    ) -> Extraction:
        """``extract`` of an add holding several roles, in one call: the turns as lines led
        by their role, and a note saying whose "I" is whose (``ingest/turns.py``)."""
        if not turns:
            raise ValidationError("messages", "must hold at least one message")
        user = self.prompts.extraction_user(
            transcript(turns), speaker=speaker, known=known, reference_time=reference_time
        )
        note = self.prompts.conversation_note.replace("{speaker}", speaker)
        return self._extract(f"{note}\n\n{user}", known)

    def _extract(self, user: str, known: Sequence[KnownEntity]) -> Extraction:
        messages = [
            {"role": "system", "content": self.prompts.extraction_system},
            {"role": "user", "content": user},
        ]
        return self.chat.complete_json(
            messages,
            EXTRACTION_SCHEMA,
            name="extract",
            description="Record the facts, entities and relations of the message.",
            parse=lambda obj: parse_extraction(obj, known=known),
        )

    def procedure(self, messages: Sequence[Message]) -> Procedure:
        """One numbered procedure for an agent's trace (``graphmem/llm/procedure.py``)."""
        return summarise(self.chat, self.prompts, messages)

    def decide(self, new_facts: list[str], existing: list[tuple[str, str]]) -> list[Decision]:
        """ADD / UPDATE / DELETE / NONE for ``new_facts`` against ``existing`` (id, text).

        The model sees ids "0", "1", ... instead of real ids, so it cannot invent or mangle
        one; answers naming any other id raise ``ExtractionError``. With nothing stored
        every fact is an ADD and no model call is made.
        """
        if not new_facts:
            return []
        if not existing:
            return [Decision("ADD", None, fact) for fact in new_facts]
        numbered = [(str(i), text) for i, (_, text) in enumerate(existing)]
        messages = [
            {"role": "system", "content": self.prompts.update_system},
            {"role": "user", "content": self.prompts.update_user(new_facts, numbered)},
        ]
        return self.chat.complete_json(
            messages,
            DECISION_SCHEMA,
            name="decide",
            description="Decide how each new fact changes the stored memories.",
            parse=lambda obj: parse_decisions(obj, existing),
        )


# --- validation -----------------------------------------------------------------------


class _Errors:
    """Collects every problem of one answer, so the message shows them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, problem: str) -> None:
        self.items.append(f"{path}: {problem}")

    def raise_if_any(self, what: str) -> None:
        if self.items:
            shown = "; ".join(self.items[:10])
            more = f" (and {len(self.items) - 10} more)" if len(self.items) > 10 else ""
            raise ExtractionError(f"the model's {what} does not fit the schema: {shown}{more}")


def _list(obj: dict[str, Any], key: str, errors: _Errors) -> list[Any]:
    if key not in obj:
        errors.add(key, "missing")
        return []
    value = obj[key]
    if not isinstance(value, list):
        errors.add(key, f"must be a list, got {type(value).__name__}")
        return []
    return value


def _string(item: dict[str, Any], key: str, path: str, errors: _Errors, *, required: bool) -> str:
    value = item.get(key)
    if value is None:
        if required:
            errors.add(f"{path}.{key}", "missing")
        return ""
    if not isinstance(value, str):
        errors.add(f"{path}.{key}", f"must be a string, got {type(value).__name__}")
        return ""
    if required and not value.strip():
        errors.add(f"{path}.{key}", "must not be empty")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Caught here, before the answer is cached: a cached bad answer would come back.
        errors.add(f"{path}.{key}", "holds a lone surrogate, which is not valid Unicode")
        return ""
    return value.strip()


def _date(item: dict[str, Any], key: str, path: str, errors: _Errors) -> str:
    text = _string(item, key, path, errors, required=False)
    if not text:
        return ""
    # Models write "2024" or "2024-05" when that is all the message says: take the first day.
    if len(text) == 4 and text.isdigit():
        text += "-01-01"
    elif len(text) == 7 and text[4] == "-":
        text += "-01"
    try:
        return to_iso(text)
    except ValidationError:
        errors.add(f"{path}.{key}", f"{text!r} is not an ISO date")
        return ""


def _importance(value: Any) -> float | None:
    """The model's importance, clamped to [0, 1]; anything unreadable is no opinion.

    Tolerated rather than refused: a fact is worth storing whatever number the model
    put beside it, and "high" or 7 (out of 10?) must not lose the message's facts.
    """
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return round(min(1.0, max(0.0, float(value))), 3)


def parse_extraction(obj: Any, *, known: Sequence[KnownEntity] = ()) -> Extraction:
    """Check a model answer against ``EXTRACTION_SCHEMA`` and build an ``Extraction``."""
    errors = _Errors()
    if not isinstance(obj, dict):
        raise ExtractionError(f"the model's answer must be an object, got {type(obj).__name__}")
    facts_in = _list(obj, "facts", errors)
    entities_in = _list(obj, "entities", errors)
    relations_in = _list(obj, "relations", errors)

    facts: list[ExtractedFact] = []
    for i, item in enumerate(facts_in):
        if not isinstance(item, dict):
            errors.add(f"facts[{i}]", "must be an object")
            continue
        facts.append(
            ExtractedFact(
                text=_string(item, "text", f"facts[{i}]", errors, required=True),
                valid_at=_date(item, "valid_at", f"facts[{i}]", errors),
                importance=_importance(item.get("importance")),
                memory_type="rule" if item.get("rule") is True else "",
                # Checked against the add's own roles by ``ingest/turns.py``.
                role=item["said_by"].strip() if isinstance(item.get("said_by"), str) else "",
            )
        )

    entities: list[ExtractedEntity] = []
    by_key: dict[str, ExtractedEntity] = {}
    for i, item in enumerate(entities_in):
        path = f"entities[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be an object")
            continue
        name = _string(item, "name", path, errors, required=True)
        label = _string(item, "type", path, errors, required=True).casefold()
        aliases = item.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            errors.add(f"{path}.aliases", "must be a list of strings")
            aliases = []
        if not name:
            continue
        entity = by_key.get(name_key(name))
        if entity is None:
            entity = ExtractedEntity(name, label if label in ENTITY_TYPES else "other", [])
            entities.append(entity)
            by_key[name_key(name)] = entity
        for alias in (a.strip() for a in aliases):
            if alias and name_key(alias) != name_key(entity.name) and alias not in entity.aliases:
                entity.aliases.append(alias)
    for entity in entities:  # aliases resolve too, but never shadow a listed name
        for alias in entity.aliases:
            by_key.setdefault(name_key(alias), entity)
    known_by_key = {name_key(k.name): k for k in known}
    for k in known:
        for alias in k.aliases:
            known_by_key.setdefault(name_key(alias), k)

    def endpoint(value: str, path: str) -> str:
        if not value:
            return ""
        found = by_key.get(name_key(value))
        if found is None and name_key(value) in known_by_key:
            k = known_by_key[name_key(value)]
            found = ExtractedEntity(k.name, k.type, list(k.aliases))
            entities.append(found)
            by_key[name_key(k.name)] = by_key[name_key(value)] = found
        if found is None:
            errors.add(path, f"{value!r} is not one of the answer's entities")
            return ""
        return found.name

    relations: list[ExtractedRelation] = []
    for i, item in enumerate(relations_in):
        path = f"relations[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be an object")
            continue
        source = endpoint(_string(item, "source", path, errors, required=True), f"{path}.source")
        target = endpoint(_string(item, "target", path, errors, required=True), f"{path}.target")
        relation = _string(item, "relation", path, errors, required=True)
        if relation:
            try:
                relation = check_relation_name(relation)
            except ValidationError as exc:
                errors.add(f"{path}.relation", exc.detail)
        fact = item.get("fact")
        # bool is an int in Python; true/false are not indexes.
        if not isinstance(fact, int) or isinstance(fact, bool):
            errors.add(f"{path}.fact", f"must be an integer fact index, got {fact!r}")
            fact = 0
        elif not 0 <= fact < len(facts_in):
            errors.add(f"{path}.fact", f"{fact} is out of range ({len(facts_in)} facts)")
        relations.append(
            ExtractedRelation(
                source=source,
                relation=relation,
                target=target,
                fact=fact,
                valid_at=_date(item, "valid_at", path, errors),
                invalid_at=_date(item, "invalid_at", path, errors),
            )
        )
    errors.raise_if_any("extraction")
    return Extraction(facts=facts, entities=entities, relations=relations)


def parse_decisions(obj: Any, existing: Sequence[tuple[str, str]]) -> list[Decision]:
    """Check an answer against ``DECISION_SCHEMA``; map short ids back to ``existing`` ids."""
    errors = _Errors()
    if not isinstance(obj, dict):
        raise ExtractionError(f"the model's answer must be an object, got {type(obj).__name__}")
    decisions: list[Decision] = []
    claimed: dict[int, str] = {}
    for i, item in enumerate(_list(obj, "decisions", errors)):
        path = f"decisions[{i}]"
        if not isinstance(item, dict):
            errors.add(path, "must be an object")
            continue
        event = _string(item, "event", path, errors, required=True).upper()
        text = _string(item, "text", path, errors, required=event in ("ADD", "UPDATE"))
        if event not in EVENTS:
            if event:
                errors.add(f"{path}.event", f"{event!r} is not one of {', '.join(EVENTS)}")
            continue
        if event == "ADD":
            # The id of an ADD means nothing (the memory does not exist yet): ignore it.
            decisions.append(Decision("ADD", None, text))
            continue
        raw_id = item.get("id")
        index = _short_id(raw_id)
        if index is None or not 0 <= index < len(existing):
            errors.add(
                f"{path}.id", f"{raw_id!r} is not one of the ids given (0..{len(existing) - 1})"
            )
            continue
        if event != "NONE" and index in claimed:
            # Two changes to one memory cannot both be applied; which one is meant is unknown.
            errors.add(f"{path}.id", f"memory {index} already has a {claimed[index]} decision")
            continue
        if event != "NONE":
            claimed[index] = event
        real_id, previous = existing[index]
        decisions.append(Decision(event, real_id, text or previous, previous))
    errors.raise_if_any("memory update")
    return decisions


def _short_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())  # "²" is a digit to isdigit, and no int
    return None
