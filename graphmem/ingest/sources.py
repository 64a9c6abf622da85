"""What an add keeps whole beside the facts split from it: its *sources*.

An extractor splits a message into facts, and each fact alone loses the message's
context: on LoCoMo, searching the offline extractor's sentence facts scored recall@10
0.633 against 0.737 for the same messages stored whole. So the text is kept as a source
that search scores beside its facts and returns once for all of them
(``search/collapse.py``).

One source per add was right for a message or an exchange, not for a chat. A session of
58 LoCoMo turns added in one call was one 8,426-character source, and every search of
the scope returned that same whole chat as its only hit, whatever it asked. So an add of
more than two messages keeps each message as a source of its own, with the facts read
from it (``ExtractedFact.turn``, ``ingest/turns.py``): a hit is then the turn that says
it, as when the turns are added one by one. A question and its answer (two messages)
stay one source, whatever their length.

Until 2026-12-01 a chat of 200 words or fewer stayed one source too. That is what an
agent saving "the turns since it last saved" sends (MCP's ``remember_conversation``), and
each such chat came back whole as one hit for every question any of its turns answered,
its roles mixed, so a hit could not say whether the user or the assistant said it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..models import Extraction, Scope
from ..text import fact_text_key

if TYPE_CHECKING:
    from .pipeline import Unit

_NS = uuid.UUID("6f1c2d8e-3b7a-4e59-9a0d-5c2f7e8b1a44")


@dataclass(frozen=True)
class Source:
    """A text kept whole: the add's, or one of its messages (``turn``)."""

    text: str
    turn: int | None = None


def content_id(scope: Scope, *parts: str) -> str:
    """Same scope and same content -> same id, so re-ingesting is free and exact."""
    key = "\x1f".join([scope.user_id, scope.agent_id, scope.run_id, *parts])
    return str(uuid.uuid5(_NS, key))


def ids_key(source_ids: list[str]) -> str:
    """The source ids as one part of a ``content_id``: joined by commas, as they always
    were, unless an id holds a comma or the parts' separator. Then they are a JSON list:
    joined, ``["chat-1,msg-7"]`` and ``["chat-1", "msg-7"]`` gave one id, and the second
    add of the same text was taken for the first and dropped, its source ids lost."""
    if any("," in s or "\x1f" in s for s in source_ids):
        return json.dumps(source_ids)
    return ",".join(source_ids)


def keeps_turns(unit: Unit) -> bool:
    """Whether ``unit`` keeps each message as its own source (see the module's note);
    read once per unit, as ``Unit.by_turns``."""
    return len(unit.messages) > 2


def origins(unit: Unit, ex: Extraction, scope: Scope) -> tuple[list[str], dict[str, Source]]:
    """The source id of each of ``ex``'s facts ("" where it needs none), and the sources.

    A text that is its own single fact needs no source. Split by turns, a fact whose turn
    is not known is the add's (``turns.placed`` gives every fact of an extraction one)."""
    whole = _source_of(unit, [f.text for f in ex.facts], scope, Source(unit.text))
    if not unit.by_turns:
        return [whole[0]] * len(ex.facts), dict([whole]) if whole[0] else {}
    said: dict[int, list[str]] = {}
    for fact in ex.facts:
        if fact.turn is not None and 0 <= fact.turn < len(unit.messages):
            said.setdefault(fact.turn, []).append(fact.text)
    kept: dict[int, tuple[str, Source]] = {}
    for turn, texts in said.items():
        source = Source(unit.messages[turn].content, turn)
        kept[turn] = _source_of(unit, texts, scope, source, f"turn {turn}")
    out = [kept[f.turn][0] if f.turn in kept else whole[0] for f in ex.facts]
    sources = {o: s for o, s in [whole, *kept.values()] if o and o in out}
    return out, sources


def _source_of(unit: Unit, texts: list[str], scope: Scope, source: Source,
               *place: str) -> tuple[str, Source]:  # fmt: skip
    keys = {fact_text_key(t) for t in texts}
    if not keys or keys == {fact_text_key(source.text)}:
        return "", source
    parts = ("source", source.text, unit.timestamp, ",".join(unit.source_ids), *place)
    return content_id(scope, *parts), source


def source_ids_of(unit: Unit, turn: int | None) -> list[str]:
    """The source ids of what ``turn`` says: its own, where an add kept turn by turn gives
    one per message (a chat's message ids); else the add's."""
    ids = unit.source_ids
    if turn is not None and len(ids) == len(unit.messages) > 1 and unit.by_turns:
        return [ids[turn]] if 0 <= turn < len(ids) else list(ids)
    return list(ids)


def said_by(unit: Unit, turn: int | None) -> dict[str, Any]:
    """The metadata of what ``turn`` says: the add's, plus that message's name as its
    speaker where the add holds several messages and its metadata names no speaker
    (search reads ``metadata.speaker``: ``search/boost.py``)."""
    metadata = dict(unit.metadata)
    if turn is not None and len(unit.messages) > 1 and not metadata.get("speaker"):
        name = unit.messages[turn].name if 0 <= turn < len(unit.messages) else ""
        if name:
            metadata["speaker"] = name
    return metadata


def source_payload(origin: str, source: Source, unit: Unit, scope: Scope,
                   now: str, *, parts: str = "") -> dict[str, Any]:  # fmt: skip
    """What search needs of a source: its text, scope, place in the conversation, and
    the digest of its facts' texts (``parts_key``).

    A message kept on its own also says which of the add's messages it is (``turn``:
    turns of one add sharing a source id are neighbours in that order) and its role; its
    metadata and source ids are its own message's (``said_by``, ``source_ids_of``)."""
    out = {
        "id": origin, "text": source.text, "kind": "source", "created_at": now,
        "valid_at": unit.timestamp, "invalid_at": "", "metadata": said_by(unit, source.turn),
        "source_ids": source_ids_of(unit, source.turn), **scope.params(),
    }  # fmt: skip
    if source.turn is not None:
        out["turn"], out["role"] = source.turn, unit.messages[source.turn].role
    if parts:
        out["parts"] = parts
    return out
