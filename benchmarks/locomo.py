"""Reader for the LoCoMo file (``locomo10.json``), with its evidence ids audited.

The file is read from wherever the user keeps it (its licence, CC BY-NC 4.0, keeps it out
of this repository). Evidence ids are normalised where the intent is clear and counted
where it is not; the counts travel with the data so a report can print them:

- ``"D8:6; D9:17"`` and ``"D9:1 D4:4"``: several ids in one entry, split;
- ``"D:11:26"``: a stray colon after ``D``, read as ``D11:26``;
- ``"D30:05"``: a leading zero, read as ``D30:5`` (turn ids carry none);
- ``"D"``: nothing parseable, counted as unparseable;
- well-formed ids naming a turn the conversation lacks, counted as missing;
- questions without any evidence, counted; with no usable gold id a question is kept
  (it is still a question) but excluded from retrieval scoring by the suite.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

CATEGORY_NAMES = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}
"""The naming of the official LoCoMo code and data (some papers swap 1, 3 and 4)."""

_SESSION_KEY = re.compile(r"session_(\d+)")
_DATE = re.compile(
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<half>am|pm)\s+on\s+"
    r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]+),?\s+(?P<year>\d{4})",
    re.IGNORECASE,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
# "D", optionally a stray ":", the session number, ":", the turn number.
_EVIDENCE_ID = re.compile(r"D(?P<colon>:)?(?P<session>\d+):(?P<turn>\d+)")


def parse_session_date(text: str) -> str:
    """``"1:56 pm on 8 May, 2023"`` -> ``"2023-05-08T13:56:00"`` (the file has no zone).

    Parsed by hand rather than with ``strptime("%B %p")``, whose month and am/pm names
    follow the process locale.
    """
    match = _DATE.fullmatch(text.strip())
    month = _MONTHS.get(match.group("month").lower()) if match else None
    if match is None or month is None:
        raise ValueError(f"unrecognised LoCoMo session date: {text!r}")
    hour = int(match.group("hour")) % 12 + (12 if match.group("half").lower() == "pm" else 0)
    moment = datetime(
        int(match.group("year")), month, int(match.group("day")), hour, int(match.group("minute"))
    )
    return moment.isoformat()


@dataclass(frozen=True)
class Turn:
    dia_id: str
    session: int
    speaker: str
    text: str  # what gets indexed: "<speaker>: <text>" plus " [shares <caption>]"
    timestamp: str


@dataclass
class Conversation:
    sample_id: str
    speakers: tuple[str, str]
    session_dates: dict[int, str]
    turns: list[Turn]


@dataclass
class Question:
    sample_id: str
    index: int
    question: str
    answer: str
    category: int
    gold: tuple[str, ...]
    raw_evidence: tuple[str, ...]

    @property
    def category_name(self) -> str:
        return CATEGORY_NAMES.get(self.category, f"category {self.category}")


@dataclass
class EvidenceAudit:
    """What normalisation did to the evidence lists, with the offending entries."""

    split_entries: list[str] = field(default_factory=list)
    stray_colon: list[str] = field(default_factory=list)
    leading_zero: list[str] = field(default_factory=list)
    unparseable: list[str] = field(default_factory=list)
    missing_turn: list[str] = field(default_factory=list)
    no_evidence: list[str] = field(default_factory=list)
    no_usable_gold: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(entries) for name, entries in vars(self).items()}

    def lines(self) -> list[str]:
        """One readable line per non-empty finding, entries prefixed ``sample#question``."""
        return [
            f"{name.replace('_', ' ')}: {len(entries)} ({', '.join(entries)})"
            for name, entries in vars(self).items()
            if entries
        ]


@dataclass
class LocomoData:
    conversations: list[Conversation]
    questions: list[Question]
    audit: EvidenceAudit

    def category_counts(self) -> dict[int, int]:
        return dict(sorted(Counter(q.category for q in self.questions).items()))


def turn_text(turn: dict[str, Any]) -> str:
    # The speaker's name is part of what is indexed: without it dense recall@10 measured
    # 0.301 instead of 0.451 (datasets/README.md), since questions name people.
    text = f"{turn['speaker']}: {turn.get('text', '')}"
    caption = turn.get("blip_caption")
    return f"{text} [shares {caption}]" if caption else text


def _read_conversation(sample: dict[str, Any]) -> Conversation:
    body = sample["conversation"]
    dates: dict[int, str] = {}
    turns: list[Turn] = []
    numbers = sorted(int(m.group(1)) for key in body if (m := _SESSION_KEY.fullmatch(key)))
    for number in numbers:
        dates[number] = parse_session_date(body[f"session_{number}_date_time"])
        for raw in body[f"session_{number}"]:
            turns.append(Turn(raw["dia_id"], number, raw["speaker"], turn_text(raw), dates[number]))
    return Conversation(sample["sample_id"], (body["speaker_a"], body["speaker_b"]), dates, turns)


def normalise_evidence(
    entries: list[str], known: set[str], where: str, audit: EvidenceAudit
) -> tuple[str, ...]:
    """Gold turn ids of one question, in order and without duplicates, audit updated."""
    gold: list[str] = []
    for entry in entries:
        pieces = [p for p in re.split(r"[;,\s]+", entry.strip()) if p]
        if len(pieces) > 1:
            audit.split_entries.append(f"{where} {entry!r}")
        for piece in pieces:
            match = _EVIDENCE_ID.fullmatch(piece)
            if match is None:
                audit.unparseable.append(f"{where} {piece!r}")
                continue
            if match.group("colon"):
                audit.stray_colon.append(f"{where} {piece!r}")
            session, turn = int(match.group("session")), int(match.group("turn"))
            if match.group("turn") != str(turn) or match.group("session") != str(session):
                audit.leading_zero.append(f"{where} {piece!r}")
            dia_id = f"D{session}:{turn}"
            if dia_id not in known:
                audit.missing_turn.append(f"{where} {piece!r}")
            elif dia_id not in gold:
                gold.append(dia_id)
    return tuple(gold)


def load_locomo(path: str | Path) -> LocomoData:
    """Read the file at ``path``; raises ``FileNotFoundError`` naming the path if absent."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(
            f"LoCoMo data not found at {source}: pass --data with the path to locomo10.json"
        )
    samples = json.loads(source.read_text(encoding="utf-8"))
    audit = EvidenceAudit()
    conversations: list[Conversation] = []
    questions: list[Question] = []
    for sample in samples:
        conversation = _read_conversation(sample)
        conversations.append(conversation)
        known = {turn.dia_id for turn in conversation.turns}
        for index, qa in enumerate(sample.get("qa", [])):
            where = f"{conversation.sample_id}#{index}"
            raw = tuple(qa.get("evidence") or ())
            if not raw:
                audit.no_evidence.append(where)
            gold = normalise_evidence(list(raw), known, where, audit)
            if not gold:
                audit.no_usable_gold.append(where)
            answer = qa.get("answer", qa.get("adversarial_answer", ""))
            questions.append(
                Question(
                    conversation.sample_id,
                    index,
                    qa["question"],
                    str(answer),
                    int(qa["category"]),
                    gold,
                    raw,
                )
            )
    return LocomoData(conversations, questions, audit)
