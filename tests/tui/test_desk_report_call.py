"""Issue 3: with no phone system connected, the desk reports "call answered from number N"
and "call ended" itself (report_call through the outbox); the server's figures count it."""

from __future__ import annotations

from typing import Any

from agent_tui.screens.intake import IntakeScreen
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, run_in_thread, sign_in, until
from tests.tui.test_desk_intake import server_get, type_into


def calls_today(server: RunningServer) -> dict[str, Any]:
    summary = server_get(server, "/api/v1/metrics/summary?window=today", "lead1")
    return dict(summary["calls"])


def seat_of(server: RunningServer, agent: str) -> dict[str, Any]:
    seats = server_get(server, "/api/v1/seats", "lead1")["seats"]
    return dict(next(s for s in seats if s["agent"] == agent))


async def test_the_desk_reports_a_call_answered_and_ended_and_the_server_counts_it(
    server: RunningServer,
) -> None:
    before = await run_in_thread(lambda: calls_today(server))
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "agent1")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await type_into(pilot, "phone", "13755556666")
        await pilot.press("alt+a")  # intake.call_answered
        await until(pilot, lambda: screen.reported_call is not None, "the answered call")
        await until(pilot, lambda: app.status.outbox == 0, "the report to reach the server")
        answered = await run_in_thread(lambda: calls_today(server))
        assert answered["offered"] == before["offered"] + 1
        assert answered["answered"] == before["answered"] + 1
        mine = await run_in_thread(lambda: seat_of(server, "agent1"))
        assert mine["state"] == "on_call"

        await pilot.press("alt+h")  # intake.call_ended
        await until(pilot, lambda: screen.reported_call is None, "the ended call")
        await until(
            pilot,
            lambda: any("Call ended" in str(n.message) for n in app._notifications),
            "the ended report",
        )
        await until(pilot, lambda: app.status.outbox == 0, "the end to reach the server")
        await pilot.press("alt+h")  # nothing left to end: said, nothing sent
        await until(
            pilot,
            lambda: any("No reported call" in str(n.message) for n in app._notifications),
            "the refusal",
        )
        assert app.status.outbox == 0
    ended = await run_in_thread(lambda: calls_today(server))
    assert (ended["offered"], ended["answered"]) == (answered["offered"], answered["answered"])
    assert ended.get("abandoned", 0) == before.get("abandoned", 0)
    mine = await run_in_thread(lambda: seat_of(server, "agent1"))
    assert mine["state"] != "on_call"
