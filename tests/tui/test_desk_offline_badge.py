"""The offline badge follows the link, not the next save: with the desk idle (nothing saved,
the next periodic pull half a minute away), cutting the link through the fault proxy turns
the status bar to offline within a couple of seconds, and it comes back online when the link
is healed. Real server process, real fault proxy on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_tui.app import build_app
from agent_tui.config import Settings
from agent_tui.services import DeskServices
from agent_tui.widgets.status_bar import StatusBar
from tests.support.faultproxy import FaultProxy, Link
from tests.support.server import RunningServer, start_server
from tests.tui.conftest import USERS, sign_in, until

IDLE_PULL = 30.0  # the desk's default periodic pull: a badge waiting for it would be late


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[RunningServer, FaultProxy]]:
    # Heartbeats every half second: a link that swallows bytes is found by their absence.
    running = start_server(
        f"sqlite:///{tmp_path / 'badge.db'}",
        tmp_path,
        users=USERS,
        extra_env={"HOTLINE_LIVE_HEARTBEAT_SECONDS": "0.5"},
    )
    fault = FaultProxy(running.port).start()
    yield running, fault
    fault.stop()
    running.stop()


@pytest.mark.parametrize("cut", [Link.DOWN, Link.BLACKHOLE])
async def test_offline_badge_shows_soon_after_the_link_drops_with_nothing_saved(
    proxy: tuple[RunningServer, FaultProxy], cut: Link
) -> None:
    """DOWN resets every connection; BLACKHOLE swallows bytes and answers nothing (a pulled
    cable), found when two heartbeats and a second pass without a word."""
    _, fault = proxy
    settings = Settings(server=fault.url)
    desk = DeskServices(settings, sync_options={"pull_interval": IDLE_PULL})
    app = build_app(settings, desk=desk)
    async with app.run_test(size=(120, 30)) as pilot:
        await sign_in(pilot, "agent1")
        await until(pilot, lambda: app.status.link == "online", "online")
        await pilot.pause(1.5)  # the event stream opens after the first sync
        assert app.status.link == "online"

        fault.set_link(cut)
        started = time.monotonic()
        # A generous bound: the point is that it no longer waits for a save or a pull.
        await until(pilot, lambda: app.status.link == "offline", "the offline badge", 5.0)
        latency = time.monotonic() - started
        bar = str(app.screen.query_one(StatusBar).render())
        assert "离线" in bar
        print(f"offline badge {latency:.2f} s after the link went {cut}")

        fault.set_link(Link.UP)
        await until(pilot, lambda: app.status.link == "online", "online again", 20.0)
