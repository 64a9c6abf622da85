"""The one source of "now" for lifecycle decisions (expiry, archival, promotion, access).

``Memory.open(..., clock=callable)`` takes any callable returning an aware ``datetime``;
tests pass one they move by hand, so "seven days later" needs no sleeping. Lifecycle code
never calls ``datetime.now`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ..errors import ConfigError, ValidationError
from ..models import to_iso

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def check_clock(clock: object) -> Clock:
    """``None`` -> real time; anything else must be callable (checked when it is called)."""
    if clock is None:
        return system_clock
    if not callable(clock):
        raise ConfigError(
            f"clock={clock!r} is not callable; pass a function returning an aware UTC "
            "datetime, such as lambda: datetime.now(UTC)"
        )
    return clock


def read(clock: Clock) -> datetime:
    """The clock's time as an aware UTC datetime; a naive or non-datetime answer is refused
    rather than guessed (a local time taken for UTC would expire memories hours early)."""
    value = clock()
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ConfigError(
            f"the clock returned {value!r}; it must return an aware datetime "
            "(datetime.now(UTC), not datetime.now())"
        )
    return value.astimezone(UTC)


def now_text(clock: Clock) -> str:
    """The clock's time in graphmem's stored form (``models.to_iso``)."""
    return to_iso(read(clock))


def check_now(value: object) -> datetime:
    """``maintain(now=...)``: an aware datetime or an ISO string (UTC if no offset)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            value = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            to_iso(value)  # the range every stored time keeps to, in UTC
        except ValidationError as exc:
            raise ValidationError("now", exc.detail) from None
        return value.astimezone(UTC)
    raise ValidationError("now", f"{value!r} is not an aware datetime or an ISO-8601 string")
