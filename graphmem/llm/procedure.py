"""The model call behind procedural memory: an execution trace in, titled steps out.

One request per trace (``LLMExtractor.procedure``). The answer is checked like an
extraction: a missing or empty title falls back to the trace's task (the offline title),
but steps that are missing, not strings, or all empty raise ``ExtractionError`` with the
model's text in ``.raw``, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ExtractionError
from ..ingest.procedural import Procedure, offline_procedure, strip_numbering
from ..ingest.validate import Message
from .client import OpenAIChat
from .prompts import Prompts

PROCEDURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "the task the trace accomplished"},
        "steps": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the steps to repeat it, in order, one imperative sentence each",
        },
    },
    "required": ["title", "steps"],
}


def summarise(chat: OpenAIChat, prompts: Prompts, messages: Sequence[Message]) -> Procedure:
    """One model call turning ``messages`` (an agent's trace) into a ``Procedure``."""
    fallback = offline_procedure(list(messages)).title
    request = [
        {"role": "system", "content": prompts.procedure_system},
        {
            "role": "user",
            "content": prompts.procedure_user([(m.role, m.content) for m in messages]),
        },
    ]
    return chat.complete_json(
        request,
        PROCEDURE_SCHEMA,
        name="procedure",
        description="Write the procedure the agent's trace followed.",
        parse=lambda obj: parse_procedure(obj, fallback),
    )


def parse_procedure(obj: Any, fallback_title: str = "") -> Procedure:
    """Check an answer against ``PROCEDURE_SCHEMA``; numbering the model added is dropped."""
    if not isinstance(obj, dict):
        raise ExtractionError(f"the model's answer must be an object, got {type(obj).__name__}")
    steps = obj.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ExtractionError("the model's procedure does not fit the schema: steps must be a "
                              f"list of strings, got {steps!r:.200}")  # fmt: skip
    kept = [s for s in (strip_numbering(" ".join(step.split())) for step in steps) if s]
    if not kept:
        raise ExtractionError("the model's procedure has no steps")
    title = obj.get("title")
    title = " ".join(title.split()) if isinstance(title, str) else ""
    return Procedure(title or fallback_title, kept)
