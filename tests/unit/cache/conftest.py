"""Fixtures for the store's own tests: a real encrypted cache file under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from offline_cache import CacheStore, open_cache


class Clock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(clock: Clock) -> Iterator[CacheStore]:
    s = open_cache("test", clock=clock)
    s.set_identity("alice", "east", "agent")
    yield s
    s.close()
