"""The sign-in limits' windows and Retry-After, on a real database (SQLite, PostgreSQL) with
the clock in the test's hands: a refusal says exactly when the oldest counted failure leaves
the window, and after that the right password works again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import HTTPException
from sqlalchemy.engine import Engine

from hotline_server import auth
from hotline_server.db.engine import make_engine
from hotline_server.settings import Settings
from tests.support.server import prepare_database

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    prepare_database(database_url, {"amy": ("agent", PASSWORD)})
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def attempt(engine: Engine, password: str, address: str, at: timedelta) -> tuple[int, int]:
    """(status, Retry-After or 0) of one sign-in ``at`` after T0."""
    settings = Settings(database_url="unused", login_max_failures=3, login_window_seconds=600,
                        login_user_max_failures=5, login_user_window_seconds=3600)  # fmt: skip
    try:
        auth.login(engine, settings, "amy", password, address, T0 + at)
    except HTTPException as exc:
        return exc.status_code, int((exc.headers or {}).get("Retry-After", 0))
    return 200, 0


def s(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def test_windows_and_retry_after(engine: Engine) -> None:
    home = "198.51.100.7"
    assert [attempt(engine, "wrong!", home, s(i)) for i in (0, 10, 20)] == [(401, 0)] * 3
    assert attempt(engine, PASSWORD, home, s(60)) == (429, 540)  # the first leaves at 600
    assert attempt(engine, PASSWORD, home, s(590)) == (429, 10)  # refusals are not counted
    assert attempt(engine, PASSWORD, home, s(601)) == (200, 0)  # home is known-good now

    # Failures anywhere (the 3 above too) meet the per-user limit of 5 an hour ...
    assert attempt(engine, "wrong!", "203.0.113.1", s(700)) == (401, 0)
    assert attempt(engine, "wrong!", "203.0.113.2", s(701)) == (401, 0)
    assert attempt(engine, "wrong!", "203.0.113.3", s(800)) == (429, 3600 - 800)
    assert attempt(engine, PASSWORD, "192.0.2.1", s(800)) == (429, 2800)
    # ... which holds amy back everywhere but at home, where her password still works,
    assert attempt(engine, PASSWORD, home, s(810)) == (200, 0)
    # and after the hour it works from anywhere.
    assert attempt(engine, PASSWORD, "192.0.2.1", s(3621)) == (200, 0)


def test_a_success_at_an_address_clears_its_count(engine: Engine) -> None:
    desk = "10.1.2.3"
    assert attempt(engine, "wrong!", desk, s(0)) == (401, 0)
    assert attempt(engine, "wrong!", desk, s(1)) == (401, 0)
    assert attempt(engine, PASSWORD, desk, s(2)) == (200, 0)
    statuses = [attempt(engine, "wrong!", desk, s(3 + i))[0] for i in range(4)]
    assert statuses == [401, 401, 401, 429]
