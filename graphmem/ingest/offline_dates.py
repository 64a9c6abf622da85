"""The offline extractor's date reader: the dates a sentence, or one clause of it, states.

"in 2019", "since May 2021", "on 2023-05-01" start a validity; "until 2020" (or the "to"
of "from 2018 to 2020") ends one. Relative dates ("yesterday", "last year", "3 weeks
ago") are placed against the day the sentence was said, when that is known
(``offline_relative.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date

from ..models import to_iso
from .offline_clauses import CLAUSE_VERB, LEFT_OUT_ADVERB
from .offline_relative import CUES, relative_dates
from .offline_words import MONTHS

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR = r"(?P<y>(?:19|20)\d{2})"
_DATE_FORMS: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(rf"\b{_YEAR}-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})\b"), False),
    (re.compile(rf"\b(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+{_YEAR}\b"),
     False),
    (re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\.?,?\s+"
                rf"{_YEAR}\b"), False),
    (re.compile(rf"\b(?P<mon>{_MONTH})\.?,?\s+{_YEAR}\b"), False),
    # A bare year only counts after a preposition: "in 2019", not "2019 people".
    (re.compile(rf"\b{_YEAR}\b"), True),
)  # fmt: skip
_STARTS = frozenset("in since on from starting beginning during".split())
_ENDS = frozenset("until till through thru to ending".split())
_PREV_WORD = re.compile(r"([a-z]+)\W*$")


def _date_of(match: re.Match[str]) -> str:
    parts = match.groupdict()
    month = MONTHS[parts["mon"]] if parts.get("mon") else int(parts.get("m") or 1)
    try:
        return to_iso(date(int(parts["y"]), month, int(parts.get("d") or 1)))
    except ValueError:  # "2023-02-30": not a date, so no date
        return ""


def sentence_dates(text: str, day: date | None = None) -> tuple[str, str]:
    """``(valid_at, invalid_at)`` stated by one sentence, ISO or "".

    "in 2019", "since May 2021", "on 2023-05-01", "on May 1, 2023" start a validity;
    "until 2020" (or the "to" of "from 2018 to 2020") ends one. Relative dates ("last
    year", "yesterday", "until last month") count the same way, as of ``day``, the day
    the sentence was said; with no ``day`` they are not read.
    """
    relative = day is not None and CUES.search(text) is not None
    if "19" not in text and "20" not in text and not relative:  # no form can match
        return "", ""
    lower = text.casefold()
    # Characters a date already took, one byte each: a list of spans checked per match
    # made a sentence of 2,500 dates quadratic.
    taken = bytearray(len(lower))
    found: list[tuple[int, str, str]] = []  # (position, word before, iso)
    for regex, needs_preposition in _DATE_FORMS:
        for match in regex.finditer(lower):
            start, end = match.span()
            if any(taken[start:end]):
                continue
            before = _PREV_WORD.search(lower[max(0, start - 16) : start])
            prev = before.group(1) if before else ""
            if needs_preposition and prev not in _STARTS and prev not in _ENDS:
                continue
            # Taken even when invalid: "2023-02-30" is not "2023".
            taken[start:end] = b"\x01" * (end - start)
            iso = _date_of(match)
            if iso:
                found.append((start, prev, iso))
    for start, end, iso in relative_dates(lower, day) if relative and day else ():
        if not any(taken[start:end]):
            before = _PREV_WORD.search(lower[max(0, start - 16) : start])
            found.append((start, before.group(1) if before else "", iso))
    valid = invalid = ""
    for _, prev, iso in sorted(found):
        if prev in _ENDS:
            # "to 2020" ends something only after a start ("from 2018 to 2020").
            if not invalid and (valid or prev != "to"):
                invalid = iso
        elif not valid:
            valid = iso
    return valid, invalid


# Where a sentence's clauses part: "...until 2020, and then joined Meta", "...; moved".
# A break starts where its blanks start: tried inside a run of blanks (a "who" clause
# blanked below), each start read the whole run again, 15 s for 20,000 characters.
_CLAUSE_BREAK = re.compile(
    rf"(?<!\s)\s*;\s*|(?:,|(?<![\s,]))\s+(?:and|but)(?:\s+then)?\s+"
    rf"(?=(?:{LEFT_OUT_ADVERB}\s+){{0,2}}"
    rf"(?:{CLAUSE_VERB}|[a-z]+ed(?![\w'-])))",
    re.IGNORECASE,
)

_INSERTED = re.compile(r",\s*(?:who|which)\s[^,]{0,200},")


def clause_dates(text: str, at: int, lead: int) -> tuple[str, str]:
    """``sentence_dates`` of the clause of ``text`` that holds position ``at``.

    "I worked at Google until 2020 and then joined Meta" ends the job at Google, not the
    one at Meta; "joined Acme in 2019 and moved to Paris in 2021" dates each its own. A
    later clause that states no date takes those said before the sentence's first name
    (``text[:lead]``): "In 2019, I moved to Paris and joined Acme". A "who" clause set
    off by commas is a clause of its own.
    """
    return Clauses(text, lead).dates_at(at)


class Clauses:
    """One sentence's clauses, found once: ``clause_dates`` for each relation of a
    sentence scanned the whole sentence again, so a 20,000-character run-on sentence of
    a thousand relations took seconds."""

    def __init__(self, text: str, lead: int, day: date | None = None) -> None:
        self.text, self.lead, self.day = text, lead, day
        self.inserted: list[tuple[int, int]] = []  # "Alice, who moved in 2012, works at Acme"
        parts, previous = [], 0
        for inserted in _INSERTED.finditer(text):
            self.inserted.append(inserted.span())
            parts += [text[previous : inserted.start()], " " * (inserted.end() - inserted.start())]
            previous = inserted.end()
        blanked = "".join(parts) + text[previous:]
        self.breaks = [brk.span() for brk in _CLAUSE_BREAK.finditer(blanked)]
        self.ends = [end for _, end in self.breaks]
        self.blanked = blanked
        self.known: dict[tuple[bool, int, int], tuple[str, str]] = {}

    def dates_at(self, at: int) -> tuple[str, str]:
        for start, end in self.inserted:
            if start <= at < end:
                return self._dates(start, end, self.text)
        i = bisect_right(self.ends, at)  # the breaks that end at or before ``at``
        start = self.breaks[i - 1][1] if i else 0
        end = len(self.blanked)
        if i < len(self.breaks) and self.breaks[i][0] >= at:
            end = self.breaks[i][0]
        dates = self._dates(start, end, self.blanked)
        return dates if start == 0 or any(dates) else self._dates(0, self.lead, self.text)

    def _dates(self, start: int, end: int, text: str) -> tuple[str, str]:
        key = (text is self.blanked, start, end)
        if key not in self.known:
            self.known[key] = sentence_dates(text[start:end], self.day)
        return self.known[key]
