"""The lead panel is live through the event stream, not only through its fallback refresh:
with the fallback pushed out to an hour, a call offered to the real server still shows up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_tui.i18n import set_language
from agent_tui.lead import HttpLeadSource, LeadPanelScreen
from tests.integration.live.conftest import LIVE_ENV, USERS, Live
from tests.support.server import start_server
from tests.tui.lead.test_lead_live import PanelApp, figures, wait_for


@pytest.fixture
def quiet(tmp_path: Path) -> Iterator[Live]:
    """A server of this test's own: the call it adds must not change other tests' figures."""
    server = start_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path, USERS, LIVE_ENV)
    try:
        yield Live(server)
    finally:
        server.stop()


def offer(live: Live, call_id: str, number: str) -> None:
    event = {
        "event_id": f"{call_id}-offered",
        "type": "offered",
        "call_id": call_id,
        "at": datetime.now(UTC).isoformat(),
        "queue": "general",
        "caller_number": number,
    }
    with live.phone() as phone:
        r = phone.post("/api/v1/telephony/events", json={"events": [event]})
    assert r.status_code == 200, r.text


async def test_a_new_call_reaches_the_panel_through_the_event_stream(quiet: Live) -> None:
    set_language("zh")
    offer(quiet, "s1", "13800000011")
    source = HttpLeadSource(quiet.url, quiet.token("lee"))
    screen = LeadPanelScreen(source, fallback_seconds=3600.0)  # no timed refresh in this test
    app = PanelApp(screen)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("3")  # last 15 minutes
            await wait_for(pilot, lambda: figures(screen)["offered"][0] == "1", "the first call")
            await wait_for(pilot, lambda: screen.link_up is True, "the event stream")
            # let the start settle: then three one-second cycles pass without a fetch
            for _ in range(10):
                fetched = screen.refresh_count
                await pilot.pause(3.0)
                if screen.refresh_count == fetched:
                    break
            assert screen.refresh_count == fetched, "the panel keeps fetching by itself"
            offer(quiet, "s2", "13800000012")
            await wait_for(pilot, lambda: figures(screen)["offered"][0] == "2", "the second call")
            assert figures(screen)["waiting"][0] == "2"
            assert screen.refresh_count > fetched  # fetched again because the stream said so
    finally:
        await source.aclose()
