"""A text added as one string, read as the parts it is made of.

Why: ``add(text)`` keeps the text whole as the source its facts are found by
(``sources.py``). For a pasted chat transcript or a note of several paragraphs that
meant one hit for every question: asked where Lucia is moving, a 220-word transcript came
back whole, and so it did when asked where the book club meets (found by hand; the MCP
``remember`` tool takes one text, so that is what an agent saving a chat got). A chat
added as messages is kept turn by turn; a string never was.

So a string is handed on as the parts it shows:

- **a transcript**: at least three lines start with a speaker's label ("Ana: ...", "Dr
  Lee: ...", "Łukasz: ...", or after a chat export's time: "[10:32] Ana: ..."), two or
  more speakers and one of them twice, and those lines hold at least
  ``TRANSCRIPT_SHARE`` of the text.
  Each labelled line is a message under that name (a line with no label goes on the one
  before); "Assistant:", "AI:" and the like are the assistant's, "User:", "Me:" and the
  like the user's own (``ROLE_LABELS``);
- else, over ``PARTS_WORDS`` words, **paragraphs**: at least three, with blank lines
  between. Each is a message of the user's; a paragraph of fewer than ``HEADING_WORDS``
  words (a heading) goes with the one after it.

Those messages are then kept turn by turn as any long chat is. One paragraph, however
long, stays one text, as does anything with ``infer=False`` (stored as it was given).
Labels that name no one ("Note:", "Q:", "Update:") never make a transcript, nor do lines
that each give a new label (a schedule: "Monday: ...", "Tuesday: ...").
"""

from __future__ import annotations

import re
from typing import Any

from ..text import word_count

# As ``index.scope.LONG_WORDS``: past this, one vector no longer stands for all a text
# says. A shorter note stays whole; a transcript is read as one at any length, as a chat
# given as messages is kept turn by turn at any length (``sources.keeps_turns``).
PARTS_WORDS = 200
TRANSCRIPT_SHARE = 0.8
HEADING_WORDS = 8
# "Ana:", "Dr Lee:", "Łukasz:", "王芳：": up to three words, each led by a letter that is
# not lower case (a name), then a colon, full-width too;
# after a chat export's time, if any: "[10:32] Ana:", "12/03/2024, 10:32 - Ana:" (the
# time stays with what was said, in brackets).
_LABEL = re.compile(
    r"^\s*(?:\[(?P<bracketed>[^\]\n]{1,40})\]\s*"
    r"|(?P<dashed>\d[\d/.,: ]{2,30}(?:\s?[AaPp]\.?[Mm]\.?)?)\s+-\s+"
    r"|(?P<clock>\d{1,2}:\d{2}(?::\d{2})?)\s+)?"
    r"(?P<label>[^\W\d_][\w.'-]*(?: [^\W\d_][\w.'-]*){0,2})\s*[:\uff1a]\s*(?P<said>\S.*)$"
)
_PARAGRAPHS = re.compile(r"\n[ \t\r]*\n")  # a blank line, Windows' too
# Labels that give a role, not a name.
ROLE_LABELS = {"assistant": "assistant", "ai": "assistant", "bot": "assistant",
         "chatbot": "assistant", "agent": "assistant", "model": "assistant",
         "system": "system", "user": "user", "me": "user", "human": "user"}  # fmt: skip
# Labels of notes, lists and forms, not of anyone speaking.
NOT_SPEAKERS = frozenset({
    "note", "notes", "update", "edit", "ps", "re", "subject", "date", "time", "todo", "to do",
    "summary", "question", "answer", "q", "a", "tl;dr", "tldr", "warning", "tip", "example",
    "step", "result", "results", "status", "important", "reminder", "location", "address",
    "email", "phone", "name", "title", "description", "source", "context", "reason",
})  # fmt: skip


def parts(text: str) -> str | list[dict[str, Any]]:
    """``text`` as messages (``{role, content[, name]}``) where it reads as a transcript,
    or as paragraphs when it is over ``PARTS_WORDS`` words; else ``text`` itself."""
    long = word_count(text) > PARTS_WORDS
    return _transcript(text) or (_paragraphs(text) if long else None) or text


def _transcript(text: str) -> list[dict[str, Any]] | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    turns: list[list[str]] = []  # [label, content...] per labelled line
    labelled = 0  # characters of the labelled lines
    for line in lines:
        found = _LABEL.match(line)
        if found is not None and any(w[0].islower() for w in found["label"].split()):
            found = None  # "so then: ..." is a sentence, not a speaker
        if found is not None:
            label, content = found["label"], found["said"].strip()
            when = found["bracketed"] or found["dashed"] or found["clock"]
            turns.append([label, f"[{when.strip()}] {content}" if when else content])
            labelled += len(line)
        elif turns:
            turns[-1].append(line)
        else:
            return None  # text before the first label: not a transcript
    labels = [label for label, *_ in turns]
    if len(labels) < 3 or len(set(labels)) < 2 or len(set(labels)) == len(labels):
        return None
    if any(label.casefold() in NOT_SPEAKERS for label in labels):
        return None
    if labelled < TRANSCRIPT_SHARE * sum(map(len, lines)):
        return None
    return [_message(label, " ".join(content)) for label, *content in turns]


def _message(label: str, content: str) -> dict[str, Any]:
    role = ROLE_LABELS.get(label.casefold())
    if role is not None:
        return {"role": role, "content": content}
    return {"role": "user", "content": content, "name": label}


def _paragraphs(text: str) -> list[dict[str, Any]] | None:
    found = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    merged: list[str] = []
    for paragraph in found:
        if merged and word_count(merged[-1]) < HEADING_WORDS:
            merged[-1] = f"{merged[-1]}\n{paragraph}"
        else:
            merged.append(paragraph)
    if len(merged) < 3:
        return None
    return [{"role": "user", "content": p} for p in merged]
