"""Seat state by key (synced to the server), the draft restore offer after a closed desk,
the command palette listing the desk's actions, and the lead panel for a lead."""

from __future__ import annotations

import httpx

from agent_tui.screens.dialogs import ChoiceDialog
from agent_tui.screens.intake import IntakeScreen
from tests.support.server import RunningServer
from tests.tui.conftest import (
    USERS,
    accept_restore_offer,
    make_app,
    run_in_thread,
    screen_text,
    sign_in,
    until,
)
from tests.tui.test_desk_intake import server_get, type_into


async def test_seat_state_by_key_shows_and_reaches_the_server(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        await pilot.press("alt+1")  # app.seat.ready
        await until(pilot, lambda: "坐席：就绪" in screen_text(app), "ready on the bar")
        await pilot.press("alt+3")  # app.seat.break: asks for the reason
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the reasons")
        await pilot.press("2")  # 用餐
        await until(pilot, lambda: "坐席：小休" in screen_text(app), "break on the bar")
        await until(pilot, lambda: app.status.outbox == 0, "the sync")

    def seat() -> dict:  # type: ignore[type-arg]
        seats = server_get(server, "/api/v1/seats", "lead1")["seats"]
        return next(s for s in seats if s["agent"] == "agent1")

    mine = seat()
    assert (mine["state"], mine["reason"]) == ("break", "meal")


async def test_a_closed_desk_offers_to_restore_the_form_in_progress(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent2")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await type_into(pilot, "caller_name", "孙悟空")
        await type_into(pilot, "account", "花果山停水三天")
        await until(pilot, lambda: screen.draft_id is not None, "the autosave")

        def saved_account() -> object:  # the last autosave, not just the first
            draft = app.desk.latest_draft()
            return draft is not None and draft.values.get("account") == "花果山停水三天"

        await until(pilot, saved_account, "the autosave of the whole form")
        ticket_id = screen.ticket_id
    # the terminal was closed mid-call; next start:
    again = make_app(server.url)
    async with again.run_test(size=(120, 36)) as pilot:
        screen = await accept_restore_offer(pilot, again)
        await until(pilot, lambda: screen.values().get("caller_name") == "孙悟空", "the name")
        assert screen.values()["account"] == "花果山停水三天"
        assert screen.ticket_id == ticket_id  # the id made when the draft opened is kept


async def test_command_palette_lists_the_desk_actions(server: RunningServer) -> None:
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        await pilot.press("ctrl+p")
        await pilot.press(*"dispatch")
        await until(pilot, lambda: "intake.dispatch" in screen_text(app), "the action")
        await pilot.press("escape")


async def test_lead_mode_opens_the_lead_panel_for_a_lead(server: RunningServer) -> None:
    from agent_tui.lead import LeadPanelScreen

    app = make_app(server.url, mode="lead")
    async with app.run_test(size=(160, 48)) as pilot:
        await sign_in(pilot, "lead1")
        await until(pilot, lambda: isinstance(app.screen, LeadPanelScreen), "the lead panel")
        await pilot.press("ctrl+n")  # app.intake: a lead can take a call too
        await until(pilot, lambda: isinstance(app.screen, IntakeScreen), "intake")


def lead_client(server: RunningServer) -> httpx.Client:
    token = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": "lead1", "password": USERS["lead1"][1]},
        timeout=10,
    ).json()["access_token"]
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


async def test_the_seat_state_is_restored_after_a_restart(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent2")
        # The desk's first contact creates the seat on the server "signed out since now"; a
        # seat change stamped before that contact would be older than it (see the report).
        await until(pilot, lambda: app.status.link == "online", "online")
        lead = await run_in_thread(lambda: lead_client(server))  # one sign-in, many reads
        try:
            await until(
                pilot,
                lambda: any(
                    s["agent"] == "agent2" for s in lead.get("/api/v1/seats").json()["seats"]
                ),
                "the seat known to the server",
            )
        finally:
            lead.close()
        await pilot.press("alt+2")  # app.seat.after_call
        await until(pilot, lambda: "坐席：话后处理" in screen_text(app), "after-call on the bar")
        await until(pilot, lambda: app.status.outbox == 0, "the sync")
        await until(
            pilot,
            lambda: any(
                (s.get("agent"), s.get("state")) == ("agent2", "after_call")
                for s in app.desk.store.seats()
            ),
            "the seat pulled back into the cache",
        )
    again = make_app(server.url)  # the desk closed and opened again: silent sign-in
    async with again.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: again.status.user == "agent2", "the silent sign-in")
        await until(pilot, lambda: again.status.seat == "after_call", "the seat restored")
        await until(pilot, lambda: "坐席：话后处理" in screen_text(again), "the seat on the bar")
