"""Relative dates in a chat, placed against the day they were said
(``graphmem/ingest/offline_relative.py``)."""

from __future__ import annotations

from datetime import date

import pytest

from graphmem import Memory
from graphmem.ingest.offline import OfflineExtractor
from graphmem.ingest.offline_dates import sentence_dates
from graphmem.models import to_iso

SAID = date(2024, 3, 13)  # a Wednesday


def iso(text: str) -> str:
    return to_iso(date.fromisoformat(text))


@pytest.mark.parametrize(("text", "expected"), [
    ("I went there yesterday.", ("2024-03-12", "")),
    ("We met last night.", ("2024-03-12", "")),
    ("I started last week.", ("2024-03-06", "")),
    ("We hiked last weekend.", ("2024-03-09", "")),  # the Saturday before
    ("I called her last Monday.", ("2024-03-11", "")),
    ("I said that last week.", ("2024-03-06", "")),
    ("I called her last Wednesday.", ("2024-03-06", "")),  # the same weekday: a week back
    ("It opened last month.", ("2024-02-01", "")),
    ("I graduated last year.", ("2023-01-01", "")),
    ("I moved here 3 days ago.", ("2024-03-10", "")),
    ("I moved here two weeks ago.", ("2024-02-28", "")),
    ("I moved here a month ago.", ("2024-02-01", "")),
    ("I moved here a couple of years ago.", ("2022-01-01", "")),
    ("I worked there until last year.", ("", "2023-01-01")),
    ("I worked there from 2019 until last month.", ("2019-01-01", "2024-02-01")),
])  # fmt: skip
def test_a_relative_date_counts_from_the_day_it_was_said(text, expected):
    valid, invalid = sentence_dates(text, SAID)
    assert (valid[:10], invalid[:10]) == expected


@pytest.mark.parametrize("text", [
    "I'll move there next week.",  # a plan, not a date
    "See you tomorrow.",
    "I moved here a few years ago.",  # no day to place
    "At last, the last of them.",
    "My last job was fun.",
    "December is the last month of the year.",  # a part of something, not a time before
    "We met the last week of May.",
    "It is their first and last night before he joins the Army.",  # an order
    "My last week at Acme was calm.",
])  # fmt: skip
def test_what_names_no_past_day_dates_nothing(text):
    assert sentence_dates(text, SAID) == ("", "")


def test_with_no_day_said_a_relative_date_is_not_read():
    assert sentence_dates("I went there yesterday.") == ("", "")


def test_the_extractor_dates_a_relation_by_a_relative_date():
    out = OfflineExtractor().extract("I started a new job at Microsoft last week.",
                                     speaker="kim", reference_time="2024-03-13T18:30:00Z")  # fmt: skip
    assert [(r.relation, r.target, r.valid_at) for r in out.relations] == [
        ("works_at", "Microsoft", iso("2024-03-06"))
    ]
    assert out.facts[0].valid_at == iso("2024-03-06")


def test_an_add_dates_what_it_says_by_its_own_timestamp(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as m:
        m.add("I work at Google.", user_id="u", timestamp="2023-01-01")
        m.add("I quit my job at Google last month.", user_id="u", timestamp="2024-03-13")
        m.add("I started at Microsoft as an engineer last week.", user_id="u",
              timestamp="2024-03-13")  # fmt: skip
        jobs = {r.target_name: (r.valid_at[:10], r.invalid_at[:10])
                for r in m.graph.relations("u", include_invalid=True, user_id="u")}  # fmt: skip
        assert jobs == {"Google": ("2023-01-01", "2024-02-01"), "Microsoft": ("2024-03-06", "")}
        # Where the user worked on 20 February: nowhere stated (between the two jobs).
        held = m.graph.relations("u", as_of="2024-02-20", user_id="u")
        assert held == []
