"""Procedural memory: an agent's execution trace becomes one numbered procedure.

``add(trace, memory_type="procedural", agent_id=...)`` comes here. With a model
configured (an extractor with a ``procedure`` method, such as ``LLMExtractor``) one model
call rewrites the trace as a titled list of steps (``graphmem/llm/procedure.py``).
Without one, or with ``infer=False``, the steps are the trace itself, verbatim:

- the user messages before the agent's first action are the task (the title);
- every later message is one step, in order; a tool's or the user's words are marked
  ``(tool)`` / ``(user)`` so the procedure says who did what;
- a trace given as one string (or only user messages) has one step per non-empty line.
  Numbering or bullets already there ("3.", "Step 2:", "-") are dropped, not doubled.

Either way the result is stored as ONE memory whose text reads::

    Procedure: Book a flight to Paris
    1. Search flights on the airline site for the dates given
    2. ...

It links the entities it names (found offline, as for raw turns) and states no
relations: a procedure is how something was done, not a fact about the world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ExtractionError, GraphMemError, ValidationError
from ..models import ExtractedFact, Extraction
from .validate import Message

TITLE = "Procedure"
_NUMBERING = re.compile(r"^\s*(?:step\s*\d+\s*[:.)\-]|\d+\s*[.):]|[-*\u2022])\s*", re.I)


@dataclass
class Procedure:
    title: str
    steps: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"{TITLE}: {self.title}" if self.title else TITLE
        return "\n".join([head, *(f"{i}. {step}" for i, step in enumerate(self.steps, 1))])


def strip_numbering(line: str) -> str:
    return _NUMBERING.sub("", line, count=1).strip()


def offline_procedure(messages: list[Message]) -> Procedure:
    """The trace's own words as numbered steps (the rules in the module docstring)."""
    first_action = next((i for i, m in enumerate(messages) if m.role != "user"), len(messages))
    if first_action == len(messages):  # no agent turn: the text is the list of steps
        lines = [line for m in messages for line in m.content.splitlines()]
        return Procedure("", [s for s in map(strip_numbering, lines) if s])
    task = " ".join(" ".join(m.content.split()) for m in messages[:first_action])
    steps = []
    for message in messages[first_action:]:
        said = strip_numbering(message.content)
        if said:
            steps.append(said if message.role == "assistant" else f"({message.role}) {said}")
    return Procedure(task, steps)


def build(messages: list[Message], extractor: Any, max_steps: int, max_chars: int) -> Procedure:
    """One procedure for ``messages``: the extractor's (one model call) or the offline one.

    Too many or too few steps, or too long a text, is the caller's input when offline
    (``ValidationError`` on ``messages``) and the model's answer otherwise
    (``ExtractionError``); either way nothing is stored.
    """
    ask = getattr(extractor, "procedure", None) if extractor is not None else None
    procedure = ask(messages) if ask is not None else offline_procedure(messages)

    def refuse(problem: str) -> GraphMemError:
        if ask is not None:
            return ExtractionError(f"the model's procedure {problem}")
        return ValidationError("messages", f"as a procedure {problem}")

    if not procedure.steps:
        raise refuse("has no steps; give the trace's actions as messages or lines")
    if len(procedure.steps) > max_steps:
        raise refuse(f"has {len(procedure.steps):,} steps, over the limit of {max_steps:,} "
                     "(max_extracted_items); split the trace into several procedures")  # fmt: skip
    if len(procedure.text()) > max_chars:
        raise refuse(f"is {len(procedure.text()):,} characters, over max_text_chars "
                     f"{max_chars:,}; split the trace or raise the limit")  # fmt: skip
    return procedure


def as_procedure(
    unit: Any, scope: Any, extractor: Any, pipeline: Any, max_steps: int, max_chars: int
) -> tuple[Any, Extraction]:
    """The unit and extraction that store ``unit``'s trace as one procedure said by the
    agent: entities found offline in the procedure's text, no relations (see above)."""
    procedure = build(unit.messages, extractor, max_steps, max_chars)
    text = procedure.text()
    stored = replace(unit, messages=[Message("assistant", text)])
    # Linked over the bare lines: "Procedure:" and "1." would read as names.
    plain = "\n".join([procedure.title, *procedure.steps])
    linked = pipeline.linker.extract(plain, speaker=unit.speaker(scope),
                                     known=pipeline.known_entities(scope))  # fmt: skip
    return stored, Extraction(facts=[ExtractedFact(text, unit.timestamp)],
                              entities=list(linked.entities))  # fmt: skip
