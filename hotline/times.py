"""Times that arrive on the wire: every one must be storable, and a client's must be believable.

Two rules, defined once here so the desk and the server agree:

- **Calendar-safe** (every incoming time): its UTC instant lies between 0001-01-02 and
  9999-12-30. ``9999-12-31T23:59:59-14:00`` parses, but its UTC value is in the year 10000,
  which no ``datetime`` (nor the database) can hold; ``0001-01-01T00:00+14:00`` falls before
  year 1. The day of margin at each end means the instant can also be shown in any zone.
- **Not ahead** (a time a client's clock made: ``created_at``, ``client_time``, a phone
  system's ``at``): at most :data:`MAX_AHEAD` later than the reference clock. Only a process
  that sets a reference (the server, for each request: :func:`reference_now`) checks it. The
  desk sets none: it never refuses its own clock, and an outbox written while its clock was
  wrong can always be read back and sent (the server then rejects that one mutation, naming
  the field, and it waits under "needs attention").

MAX_AHEAD is a week, not a minute: desks with clocks days off must keep working (SYNC.md:
clock skew never orders anything); a week still refuses a time in 2999, which would stop a
ticket's deadlines and reports from ever coming round.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST_UTC = datetime(1, 1, 2, tzinfo=UTC)
LATEST_UTC = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
MAX_AHEAD = timedelta(days=7)

_reference: ContextVar[datetime | None] = ContextVar("hotline_reference_now", default=None)


@contextmanager
def reference_now(now: datetime) -> Iterator[None]:
    """Within this block (and threads started from it with its context), client times are
    checked against ``now``: later than ``now + MAX_AHEAD`` is refused."""
    token = _reference.set(now)
    try:
        yield
    finally:
        _reference.reset(token)


def calendar_safe(value: datetime) -> datetime:
    """``value`` itself, or ValueError when its UTC instant is outside 0001-01-02..9999-12-30."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_UTC <= utc <= LATEST_UTC:
        raise ValueError(
            f"{value.isoformat()} is outside the calendar this system keeps "
            "(between 0001-01-02 and 9999-12-30 in UTC)"
        )
    return value


def client_time(value: datetime) -> datetime:
    """:func:`calendar_safe`, and not more than MAX_AHEAD after the reference clock (if set).
    An aware time compares by its UTC instant: inside the calendar it is taken without
    converting it (three per mutation on a push); outside, or when the comparison cannot
    tell, :func:`calendar_safe` raises its error."""
    try:
        inside = EARLIEST_UTC <= value <= LATEST_UTC
    except (OverflowError, TypeError):
        inside = False
    if not inside:
        calendar_safe(value)
    now = _reference.get()
    if now is not None and value > now + MAX_AHEAD:
        raise ValueError(
            f"{value.isoformat()} is more than {MAX_AHEAD.days} days after the server's "
            f"time ({now.astimezone(UTC).isoformat(timespec='seconds')}): check the clock"
        )
    return value


SafeDatetime = Annotated[AwareDatetime, AfterValidator(calendar_safe)]
"""Any time a request carries (e.g. a knowledge-base article's validity)."""

ClientTime = Annotated[AwareDatetime, AfterValidator(client_time)]
"""A time read from a client's clock: calendar-safe and not far ahead of the server."""
