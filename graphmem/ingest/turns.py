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


def speakers_of(messages: Sequence[Message]) -> set[tuple[str, str]]:
    """Who speaks: each role, and each name a message of it gives."""
    return {(m.role, m.name) for m in messages}


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


def each_as_said(found: Extraction, messages: Sequence[Message], timestamp: str) -> Extraction:
    """``or_as_said`` for an add kept turn by turn (``Unit.by_turns``): each message
    as said, under its own role, rather than the whole chat as one memory."""
    if not found.facts:
        found.relations = []
        found.facts = [ExtractedFact(m.content, timestamp, importance(m.content), role=m.role,
                                     turn=i) for i, m in enumerate(messages)]  # fmt: skip
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
        words = _words(fact.text)
        fact.role = role or turns[_closest(words, turns)][0]
        # Its turn: the one of its role whose words it shares most.
        fact.turn = _closest(words, turns, fact.role)
        if fact.role != USER:
            fact.memory_type = ""
            dropped.add(number)
    found.relations = [r for r in found.relations if r.fact not in dropped]
    return found


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) > 2}


def _closest(words: set[str], turns: list[tuple[str, set[str]]], role: str = "") -> int:
    """The turn ``words`` share most with: among ``role``'s turns when given, else any
    (the user's on a tie). The first such turn when none shares a word."""
    places = [i for i, (said_by, _) in enumerate(turns) if not role or said_by == role]
    places = places or list(range(len(turns)))
    users = [i for i in places if turns[i][0] == USER]
    best, found = 0.0, users[0] if users and not role else places[0]
    for i in places:
        said_by, said = turns[i]
        share = len(words & said) / (len(words) or 1)
        if share > best or (share == best and share > 0 and said_by == USER != turns[found][0]):
            best, found = share, i
    return found


def placed(found: Extraction, messages: Sequence[Message]) -> Extraction:
    """``found`` with each fact's ``turn`` set, where its reader did not set it: the one
    message that holds its text as said, else the message whose words it shares most (an
    extractor that read the messages joined). Shared words alone put every line of a chat
    of near-alike turns ("I planted 3 tulips", "I planted 4 tulips") on the first."""
    if len(messages) > 1 and any(f.turn is None for f in found.facts):
        turns = [(m.role, _words(m.content)) for m in messages]
        said = [m.content.casefold() for m in messages]
        for fact in found.facts:
            if fact.turn is None:
                text = fact.text.strip().casefold()
                inside = [i for i, content in enumerate(said) if text and text in content]
                fact.turn = (inside[0] if len(inside) == 1
                             else _closest(_words(fact.text), turns, fact.role))  # fmt: skip
    return found


def by_turn(messages: Sequence[Message], timestamp: str,
            read: Callable[[str, str, str], Extraction]) -> Extraction:  # fmt: skip
    """Each message read alone by ``read`` (its text, role and name -> an extraction), the
    results joined: relation ``fact`` indexes are moved to the joined fact list."""
    out = Extraction()
    for number, message in enumerate(messages):
        said = read(message.content, message.role, message.name)
        found = or_as_said(said, message.content, timestamp)
        spoken_by(found, message.role)
        for fact in found.facts:
            fact.turn = number
        base = len(out.facts)
        out.facts += found.facts
        for entity in found.entities:  # linked to its own turn's facts only
            entity.facts = (base, len(out.facts))
        out.entities += found.entities
        for rel in found.relations:
            rel.fact += base
            out.relations.append(rel)
    return out
