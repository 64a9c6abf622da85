"""Relative dates, placed against the time a sentence was said.

"I went to the support group yesterday", "I started at Microsoft last week", "we moved
here 5 years ago": a chat dates what happened by when it is said, and the offline
extractor is given that time (``reference_time``: the add's timestamp, else the clock).
Each form gives the day (or, for a year or a month, its first day, as "in 2019" does):

- "yesterday", "last night": the day before;
- "last week": seven days before; "last weekend": the Saturday before;
- "last Monday" ... "last Sunday": that weekday before the day said (a week back if the
  same weekday);
- "last month": the first of the month before; "last year": the first of January before;
- "3 days ago", "two weeks ago", "a month ago", "a couple of years ago": that far back
  (months to their first day, years to their first of January).

The future ("next week", "tomorrow", "in two days") is a plan, not a date anything held
from, and vague spans ("a few years ago", "recently") say no day: neither is read. Nor is
a "last ... of" ("the last week of May", "the last month of the year"): a part of
something, not a time before; nor a "last" after "the", "my", "their", "and"...
("their first and last night", "my last week at Acme"): an order.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from ..models import to_iso

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
            "a couple of": 2, "couple of": 2}  # fmt: skip
_COUNT = "|".join(sorted((re.escape(n) for n in _NUMBERS), key=len, reverse=True))
# "their first and last night", "my last week at Acme", "the last year of the war": a
# "last" after one of these is an order, not a time before.
# Not "her" or "that": "I called her last Monday", "I said that last week" are times.
_ORDINAL = "".join(rf"(?<!\b{word}\s)" for word in (
    "the", "my", "your", "his", "its", "our", "their", "and", "a", "this", "whose", "every",
    "each"))  # fmt: skip
RELATIVE = re.compile(
    rf"\b(?:(?P<yesterday>yesterday|{_ORDINAL}last\s+night)"
    rf"|{_ORDINAL}last\s+(?P<last>week|weekend|month|year|{'|'.join(_DAYS)})(?!\s+of\b)"
    rf"|(?P<n>\d{{1,3}}|{_COUNT})\s+(?P<unit>day|week|month|year)s?\s+ago)\b"
)
# Every form holds one of these words: a sentence without any skips the regex above.
CUES = re.compile(r"\b(?:yesterday|last|ago)\b", re.IGNORECASE)


def reference_day(reference: str) -> date | None:
    """The day ``reference`` (graphmem's ISO text) falls on, in UTC; None if unreadable."""
    try:
        moment = datetime.fromisoformat(reference.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def relative_dates(lower: str, day: date) -> list[tuple[int, int, str]]:
    """``(start, end, iso)`` of each relative date in ``lower`` (casefolded), as of ``day``."""
    found = []
    for match in RELATIVE.finditer(lower):
        when = _resolve(match, day)
        if when is not None:
            found.append((match.start(), match.end(), to_iso(when)))
    return found


def _resolve(match: re.Match[str], day: date) -> date | None:
    if match.group("yesterday"):
        return day - timedelta(days=1)
    last = match.group("last")
    if last == "week":
        return day - timedelta(days=7)
    if last == "weekend":
        return day - timedelta(days=(day.weekday() - 5) % 7 or 7)
    if last == "month":
        return _months_back(day, 1)
    if last == "year":
        return date(day.year - 1, 1, 1)
    if last:
        return day - timedelta(days=(day.weekday() - _DAYS.index(last)) % 7 or 7)
    count = match.group("n")
    n = int(count) if count.isdigit() else _NUMBERS[" ".join(count.split())]
    unit = match.group("unit")
    if unit == "day":
        return day - timedelta(days=n)
    if unit == "week":
        return day - timedelta(weeks=n)
    if unit == "month":
        return _months_back(day, n)
    return date(day.year - n, 1, 1) if day.year - n >= 1 else None


def _months_back(day: date, n: int) -> date | None:
    """The first day of the month ``n`` months before ``day``'s."""
    months = day.year * 12 + day.month - 1 - n
    return date(months // 12, months % 12 + 1, 1) if months >= 12 else None
