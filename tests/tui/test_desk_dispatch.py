"""Dispatch from intake says the handling deadline the clocks give (hotline.clocks)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agent_tui.screens.intake import IntakeScreen
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, sign_in, until
from tests.tui.test_desk_intake import type_into

SHANGHAI = timezone(timedelta(hours=8))


async def test_dispatch_shows_the_handling_deadline_of_the_clocks(server: RunningServer) -> None:
    # Wednesday 2 Dec 2026, 10:00 in Shanghai. A consultation (the form's default kind) is
    # due in 3 working days counted from the next day: Thu 3, Fri 4, Mon 7, ending at 24:00
    # of Monday -- shown as 12-08 00:00.
    at = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
    app = make_app(server.url, lang="en")
    app.clock = lambda: at
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "agent1")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        assert screen.values().get("kind") == "consultation"
        await type_into(pilot, "phone", "13911112222")
        await type_into(pilot, "address", "长宁区愚园路9号")
        await type_into(pilot, "account", "咨询居住证办理材料")
        await pilot.press("ctrl+g")  # intake.dispatch
        await until(pilot, lambda: screen.last_saved, "the dispatch")
        assert "dispatched, due 12-08 00:00" in screen.last_saved, screen.last_saved
