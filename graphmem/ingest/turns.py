"""Who said what, when one ``add`` holds messages of more than one role.

Why: ``Memory.add([user, assistant, user])`` was extracted as one text, with the user as
the speaker of every line. The assistant's "I live in Berlin and I work at OpenMind
Labs" became the user's ``lives_in Berlin`` and ``works_at OpenMind Labs``, and every fact
of the exchange was stored with role ``user`` (found by hand, offline extractor). A model
was no better off: it got the lines joined with no speaker on any of them.

So such an add is read turn by turn:

- an extractor that reads a labelled transcript (``extract_conversation``: the LLM one)
  gets the turns in one call, each line led by its role, and is told whose "I" is whose;
- any other (the offline one) reads each message alone, as its own speaker's. A user's
  message gives facts and relations; any other role's gives facts, stored with that role,
  but no relation and no standing rule: what an assistant says of itself, suggests or
  quotes back is not the user's news (the rule ``Pipeline.extract`` already applied to an
  add holding no user message).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..models import ExtractedFact, Extraction
from .offline_importance import importance
from .validate import Message

USER = "user"
_WORD = re.compile(r"\w+")


def roles_of(messages: Sequence[Message]) -> set[str]:
    return {m.role for m in messages}


def transcript(messages: Sequence[Message]) -> str:
    """The turns as lines led by their role (and name, when given): ``[user] ...``."""
    lines = []
    for message in messages:
        who = f"{message.role} {message.name}" if message.name else message.role
        lines.append(f"[{who}] {message.content}")
    return "\n".join(lines)


def voice(role: str, speaker: str, *, model: bool) -> str:
    """Whose "I" a message of ``role`` speaks with: the user's name (``speaker``) for the
    user's; another role's own name for a model ("The assistant recommended ..."), and
    none offline, where a speaker becomes an entity: the assistant's "I live in Berlin"
    was linked to the user's."""
    if role == USER:
        return speaker
    return role if model else ""


def or_as_said(found: Extraction, text: str, timestamp: str) -> Extraction:
    """``found``, or, when nothing was extracted ("Wow, that's great!"), the message kept
    as said, as infer=False would: dropping such turns lost LoCoMo evidence and left gaps
    where their neighbours should meet."""
    if not found.facts:
        found.facts, found.relations = [ExtractedFact(text, timestamp, importance(text))], []
    return found


def spoken_by(found: Extraction, role: str) -> Extraction:
    """``found`` as one role's words: facts marked with it; from anyone but the user, no
    relations and no standing rules ("Always back up your files" from the assistant is
    advice, not the user's instruction)."""
    for fact in found.facts:
        fact.role = role
        if role != USER:
            fact.memory_type = ""
    if role != USER:
        found.relations = []
    return found


def attributed(found: Extraction, messages: Sequence[Message]) -> Extraction:
    """``found`` (one model call over the labelled turns) with each fact given the role
    of the turn it came from, and ``spoken_by``'s rules for that role applied per fact.

    The model names the role (``said_by``); one that names no role of these turns (or
    a speaker's name instead) is mapped to the turn whose words the fact shares most,
    the user's on a tie. Before, every such fact was stored as ``user``, and the
    assistant's advice ("try the night train") read as the user's own words.
    """
    roles = {m.role for m in messages}
    names = {m.name.casefold(): m.role for m in messages if m.name}
    turns = [(m.role, _words(m.content)) for m in messages]
    dropped = set()
    for number, fact in enumerate(found.facts):
        said = fact.role.strip("[] ").casefold()
        role = (said if said in roles else names.get(said)
                or next((r for r in roles if said.split(" ")[:1] == [r]), None))  # fmt: skip
        fact.role = role or _closest(_words(fact.text), turns)
        if fact.role != USER:
            fact.memory_type = ""
            dropped.add(number)
    found.relations = [r for r in found.relations if r.fact not in dropped]
    return found


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) > 2}


def _closest(words: set[str], turns: list[tuple[str, set[str]]]) -> str:
    best, role = 0.0, USER if any(r == USER for r, _ in turns) else turns[0][0]
    for said_by, said in turns:
        share = len(words & said) / (len(words) or 1)
        if share > best or (share == best and share > 0 and said_by == USER):
            best, role = share, said_by
    return role


def by_turn(messages: Sequence[Message], timestamp: str,
            read: Callable[[str, str], Extraction]) -> Extraction:  # fmt: skip
    """Each message read alone by ``read`` (its text and role -> an extraction), the
    results joined: relation ``fact`` indexes are moved to the joined fact list."""
    out = Extraction()
    for message in messages:
        found = or_as_said(read(message.content, message.role), message.content, timestamp)
        spoken_by(found, message.role)
        base = len(out.facts)
        out.facts += found.facts
        for entity in found.entities:  # linked to its own turn's facts only
            entity.facts = (base, len(out.facts))
        out.entities += found.entities
        for rel in found.relations:
            rel.fact += base
            out.relations.append(rel)
    return out
