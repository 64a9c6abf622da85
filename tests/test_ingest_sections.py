"""A long text added as one string is kept in the parts it shows (ingest/sections.py)."""

from __future__ import annotations

import pytest
from test_ingest_long_adds import FILLER, TOPICS

from graphmem import Memory
from graphmem.ingest.sections import parts

# The chat of test_ingest_long_adds, pasted as a transcript, the assistant answering once.
LINES = [f"{name}: {text}{FILLER}" for name, text in TOPICS[:3]]
LINES.insert(2, "Assistant: Noted. The quarterly review sounds like a lot of work, so I "
             "will remind you about the budget spreadsheet on Friday morning.")  # fmt: skip
LINES += [f"{name}: {text}{FILLER}" for name, text in TOPICS[3:]]
TRANSCRIPT = "\n".join(LINES)
NOTE = "\n\n".join(["## Week 12", *(text + FILLER for _name, text in TOPICS)])


def said(line: str) -> str:
    return line.split(": ", 1)[1]


def test_a_pasted_transcript_is_kept_turn_by_turn(tmp_path):
    """``add(text)`` kept a pasted chat whole, so it was the one hit of every search
    (``remember`` over MCP takes one text: an agent saving a chat got this)."""
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(TRANSCRIPT, user_id="u")
        tickets = m.search("Which city are the train tickets for?", user_id="u", limit=3)
        reminder = m.search("When is the budget spreadsheet reminder?", user_id="u", limit=3)
        stored = m.get_all(user_id="u")
    assert tickets[0].text == said(LINES[4])
    assert tickets[0].metadata.get("speaker") == "Ben"
    assert reminder[0].text == said(LINES[2])  # the assistant's own line
    assert all(len(h.text) < len(TRANSCRIPT) / 3 for h in [*tickets, *reminder])
    assert {f.role for f in stored} == {"user", "assistant"}


def test_a_note_of_paragraphs_is_kept_paragraph_by_paragraph(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(NOTE, user_id="u")
        chess = m.search("Who won the chess tournament?", user_id="u", limit=3)
        cat = m.search("What is the name of the cat?", user_id="u", limit=3)
    assert chess[0].text == TOPICS[5][1] + FILLER
    assert cat[0].text == "## Week 12\n" + TOPICS[0][1] + FILLER  # the heading goes along
    # Windows line ends split the same way.
    assert parts(NOTE.replace("\n", "\r\n")) == parts(NOTE)


@pytest.mark.parametrize("text", [
    " ".join(text + FILLER for _name, text in TOPICS),  # one paragraph, however long
    "\n".join(f"{day}: {text}{FILLER}" for day, (_n, text) in  # a schedule, not a chat
              zip(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
                  TOPICS, strict=True)),
    "\n".join(f"{label}: {text}{FILLER}" for label, (_n, text) in  # labels of a note
              zip(["Note", "Ana", "Note", "Ben", "Ana", "Ben"], TOPICS, strict=True)),
    "Intro line with no speaker at all.\n" + TRANSCRIPT,  # text before the first label
])  # fmt: skip
def test_what_shows_no_parts_stays_one_text(text):
    assert parts(text) == text


def test_a_short_transcript_is_read_as_messages_too(tmp_path):
    short = "\n".join(f"{name}: {text}" for name, text in TOPICS)  # ~70 words
    assert [m.get("name") for m in parts(short)] == ["Ana", "Ben"] * 3
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(short, user_id="u")
        hits = m.search("Which city are the train tickets for?", user_id="u", limit=3)
    assert hits[0].text == TOPICS[3][1] and hits[0].said_by() == "Ben"


def test_a_transcript_reads_as_named_messages_and_roles():
    messages = parts(TRANSCRIPT + "\n  and one more line of Ben's, wrapped.")
    assert [m.get("name") for m in messages] == ["Ana", "Ben", None, "Ana", "Ben", "Ana", "Ben"]
    assert [m["role"] for m in messages].count("assistant") == 1
    assert messages[-1]["content"].endswith("and one more line of Ben's, wrapped.")


def test_without_infer_or_as_a_rule_the_text_stays_one_memory(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        kept = m.add(TRANSCRIPT, user_id="raw", infer=False)
        rule = m.add(NOTE, user_id="rule", memory_type="rule")
        assert [f.text for f in kept.facts] == [TRANSCRIPT]
        hits = m.search("Who won the chess tournament?", user_id="rule", limit=1)
    assert rule.facts and hits[0].text == NOTE


def test_a_chat_export_keeps_each_line_with_its_time():
    """Exported chats lead each line with its time ("12/03/2024, 10:32 - Ana: ..." or
    "[10:32] Ana: ..."): still a transcript, and the time stays with what was said."""
    for stamp in ("12/03/2024, 10:{:02d} - ", "[10:{:02d}] ", "10:{:02d} "):
        lines = [stamp.format(i) + line for i, line in enumerate(LINES)]
        messages = parts("\n".join(lines))
        assert [m.get("name") for m in messages] == ["Ana", "Ben", None, "Ana", "Ben", "Ana",
                                                     "Ben"]  # fmt: skip
        first = stamp.format(0).strip(" -[]")
        assert messages[0]["content"] == f"[{first}] {said(LINES[0])}"


def test_speakers_named_beyond_ascii_read_as_a_transcript():
    """Only A-Z started a name: a chat between Łukasz and Zoë stayed one text."""
    names = {"Ana": "Łukasz", "Ben": "Zoë"}
    lines = [line.replace("Ana:", "Łukasz:").replace("Ben:", "Zoë:") for line in LINES]
    messages = parts("\n".join(lines))
    assert [m.get("name") for m in messages] == [names.get(n, n) if n else None for n in
                                                 ["Ana", "Ben", None, "Ana", "Ben", "Ana", "Ben"]]  # fmt: skip
    # A line led by words in lower case is a sentence with a colon, not a speaker's turn.
    assert isinstance(parts("\n".join(["so then: " + said(line) for line in LINES])), str)
