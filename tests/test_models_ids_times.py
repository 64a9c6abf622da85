"""The fast paths in models.py give what the straightforward versions gave."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from graphmem.errors import ValidationError
from graphmem.ingest.validate import check_source_ids, check_timestamp
from graphmem.models import SCOPE_FIELDS, Scope, new_id, to_iso


def test_new_id_is_a_random_version_4_uuid():
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01T09:00:00",
        "2024-01-01T09:00:00Z",
        " 2024-01-01T09:00:00.5+02:00 ",
        "2024-03-05",
        "1000-01-01T00:30:00+01:00",  # crosses back into year 999
        "0999-06-01T00:00:00",
        datetime(2020, 1, 2, 3, 4, 5, 6),
        datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3))),
        datetime(5, 1, 1),
        date(2021, 3, 1),
    ],
)
def test_to_iso_is_utc_with_microseconds_and_a_four_digit_year(value):
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    elif isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime(value.year, value.month, value.day)
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    utc = parsed.astimezone(UTC)
    assert to_iso(value) == f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.%fZ")


def test_times_before_year_1000_sort_before_later_ones_as_text():
    """Stores compare times as strings (as_of, invalid_at): the year must be padded."""
    times = [to_iso(t) for t in ("2024-01-01", "0050-03-01", "0999-12-31T23:00:00", "1000-01-01")]
    assert sorted(times) == [times[1], times[2], times[3], times[0]]
    assert times[1] == "0050-03-01T00:00:00.000000Z"


def test_bad_timestamps_and_source_ids_still_name_the_field():
    with pytest.raises(ValidationError, match="valid_at.*not an ISO-8601"):
        check_timestamp("2024-13-45", "valid_at")
    with pytest.raises(ValidationError, match="timestamp.*expected str"):
        check_timestamp(20240101)
    for bad in (["a", ""], ["a", 3], "a", [None]):
        with pytest.raises(ValidationError, match="source_ids"):
            check_source_ids(bad)
    assert check_source_ids(("a", "b")) == ["a", "b"]


ROWS = [{}, {"user_id": "u", "agent_id": None}, {"user_id": "u", "agent_id": "a", "run_id": "r"},
        {"user_id": "x", "run_id": 3}, {"user_id": "x", "run_id": "3"}]  # fmt: skip
SCOPES = [Scope(), Scope("u"), Scope("u", "a"), Scope("", "a", "r"), Scope("x", "", "3")]


@pytest.mark.parametrize("row", ROWS)
def test_scope_from_row_and_matches_agree_with_the_field_loop(row):
    assert Scope.from_row(row) == Scope(*(str(row.get(k) or "") for k in SCOPE_FIELDS))
    for scope in SCOPES:
        wanted = all(not v or row.get(k, "") == v for k, v in scope.params().items())
        assert scope.matches(row) is wanted
