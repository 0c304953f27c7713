"""The hub's own machinery: batched seat touches, configuration from the environment."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from hotline_server.live.hub import LiveHub, LiveSettings


async def test_seat_touches_of_many_streams_are_one_write() -> None:
    engine = sa.create_engine("sqlite://")
    hub = LiveHub(engine, "sqlite://", settings=LiveSettings())
    writes: list[set[str]] = []
    hub.seat_toucher = lambda agents: writes.append(set(agents))
    await hub.start()
    try:
        for agent in ("amy", "bob", "cat", "amy", "bob"):  # five heartbeats, three desks
            hub.touch_seat(agent)
        for _ in range(200):  # bounded: the batch is written within about a second
            if writes:
                break
            await asyncio.sleep(0.05)
        assert writes == [{"amy", "bob", "cat"}]
        hub.touch_seat("dan")
        for _ in range(200):
            if len(writes) == 2:
                break
            await asyncio.sleep(0.05)
        assert writes == [{"amy", "bob", "cat"}, {"dan"}]
    finally:
        await hub.stop()
        engine.dispose()


async def test_a_failing_touch_write_does_not_stop_later_ones() -> None:
    engine = sa.create_engine("sqlite://")
    hub = LiveHub(engine, "sqlite://", settings=LiveSettings())
    calls: list[set[str]] = []

    def toucher(agents: set[str]) -> None:
        calls.append(set(agents))
        if len(calls) == 1:
            raise RuntimeError("database is locked")

    hub.seat_toucher = toucher
    await hub.start()
    try:
        hub.touch_seat("amy")
        for _ in range(200):
            if calls:
                break
            await asyncio.sleep(0.05)
        hub.touch_seat("amy")
        for _ in range(200):
            if len(calls) == 2:
                break
            await asyncio.sleep(0.05)
        assert calls == [{"amy"}, {"amy"}]
    finally:
        await hub.stop()
        engine.dispose()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOTLINE_LIVE_HEARTBEAT_SECONDS", "fifteen"),
        ("HOTLINE_LIVE_LINK_DOWN_SECONDS", "0"),
        ("HOTLINE_LIVE_QUEUE_SIZE", "2.5"),
        ("HOTLINE_LIVE_ESCALATION_SECONDS", "nan"),
        ("HOTLINE_SERVICE_LEVEL_SECONDS", "-1"),
    ],
)
def test_a_bad_live_setting_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    from hotline_server.settings import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        LiveSettings.from_env()


def test_live_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_LIVE_QUEUE_SIZE", "8")
    monkeypatch.setenv("HOTLINE_LIVE_HEARTBEAT_SECONDS", "")  # empty: the default
    monkeypatch.setenv("HOTLINE_TZ", "Asia/Urumqi")
    s = LiveSettings.from_env()
    assert (s.queue_size, s.heartbeat_seconds, s.timezone) == (8, 15.0, "Asia/Urumqi")
