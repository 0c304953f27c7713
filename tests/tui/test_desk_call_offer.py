"""A call offer never erases the form being typed nor moves the focus: it waits in the
incoming strip until the agent takes it (``app.accept_call``); the typed form is kept as a
draft one key away (``intake.drafts``). Against a real server, calls rung through its
telephony API; the seat is made ready the way an agent does it (``app.seat.ready``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_tui.messages import CallOffered
from agent_tui.screens.dialogs import ChoiceDialog
from agent_tui.screens.intake import IntakeScreen
from agent_tui.widgets.incoming import IncomingStrip
from tests.support.server import RunningServer, start_server
from tests.tui.conftest import USERS, make_app, run_in_thread, sign_in, until
from tests.tui.test_desk_intake import server_get, type_into

TELEPHONY = "telephony-offer-token"
CALLER = "13600007777"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(
        f"sqlite:///{tmp_path / 'own.db'}",
        tmp_path,
        users=USERS,
        extra_env={"HOTLINE_TELEPHONY_TOKEN": TELEPHONY},
    )
    yield running
    running.stop()


def ring(server: RunningServer, call_id: str, number: str, agent: str = "agent1") -> None:
    """The phone system offers a call to ``agent``'s seat (queue, then the seat)."""
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": f"{call_id}-q", "type": "offered", "call_id": call_id, "at": now,
         "caller_number": number, "queue": "main"},
        {"event_id": f"{call_id}-s", "type": "offered_to_seat", "call_id": call_id, "at": now,
         "caller_number": number, "agent": agent},
    ]  # fmt: skip
    answer = httpx.post(
        server.url + "/api/v1/telephony/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {TELEPHONY}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def strip_text(screen: Any) -> str:
    strip = screen.query_one(IncomingStrip)
    return str(strip.render()) if strip.display else ""


async def ready_seat(pilot: Any) -> None:
    """Signed in, online, seat ready on the server (as the agent sets it: alt+1)."""
    app = pilot.app
    await sign_in(pilot)
    await until(pilot, lambda: app.status.link == "online", "online")
    await pilot.press("alt+1")  # app.seat.ready
    await until(pilot, lambda: app.status.seat == "ready", "the seat ready")
    await until(pilot, lambda: app.status.outbox == 0, "the seat change sent")
    await pilot.pause(1.0)  # the event stream subscribes after the first sync


async def test_an_offer_mid_typing_keeps_the_form_and_both_tickets_reach_the_server(
    own_server: RunningServer,
) -> None:
    app = make_app(own_server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_seat(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await type_into(pilot, "caller_name", "欧阳小红")
        await type_into(pilot, "phone", "13900008888")
        await type_into(pilot, "account", "楼道灯坏了")
        typed_ticket = screen.ticket_id

        await run_in_thread(lambda: ring(own_server, "c-mid", CALLER))
        await until(pilot, lambda: CALLER in strip_text(screen), "the incoming strip")
        assert "alt+p" in strip_text(screen)
        # nothing moved: same form, same values, the focus where the agent types
        assert screen.ticket_id == typed_ticket
        assert screen.values()["caller_name"] == "欧阳小红"
        assert app.focused is screen.query_one("#f-account")
        await pilot.press(*"三天了")
        assert screen.values()["account"] == "楼道灯坏了三天了"

        await pilot.press("alt+p")  # app.accept_call
        await until(pilot, lambda: screen.values().get("phone") == CALLER, "the call's form")
        assert screen.values()["caller_name"] == "" and screen.ticket_id != typed_ticket
        assert screen.values()["caller_number"] == CALLER  # the caller ID, kept on its own
        await until(pilot, lambda: strip_text(screen) == "", "the strip to empty")
        drafts = await run_in_thread(app.desk.drafts)
        kept = [d for d in drafts if d.ticket_id == typed_ticket]
        assert [d.values["account"] for d in kept] == ["楼道灯坏了三天了"]

        await type_into(pilot, "account", "来电询问停水时间")
        await type_into(pilot, "answer", "已告知恢复供水时间")
        await pilot.press("ctrl+s")  # intake.on_spot
        await until(pilot, lambda: screen.last_saved, "the call's ticket saved")
        call_ticket = (await run_in_thread(lambda: app.desk.recent_for_phone(CALLER)))[0].id

        await pilot.press("alt+d")  # intake.drafts
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the drafts list")
        await pilot.press("1")
        await until(pilot, lambda: screen.ticket_id == typed_ticket, "the draft back")
        await until(
            pilot, lambda: screen.values().get("caller_name") == "欧阳小红", "the typed values"
        )
        assert screen.values()["account"] == "楼道灯坏了三天了"
        screen.last_saved = ""
        await type_into(pilot, "answer", "已转告物业维修")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.last_saved, "the typed ticket saved")
        await until(pilot, lambda: app.status.outbox == 0, "both sent")
        assert not [d for d in await run_in_thread(app.desk.drafts) if screen._worth_restoring(d)]

    first = await run_in_thread(lambda: server_get(own_server, f"/api/v1/tickets/{typed_ticket}"))
    second = await run_in_thread(lambda: server_get(own_server, f"/api/v1/tickets/{call_ticket}"))
    assert (first["caller_name"], first["account"]) == ("欧阳小红", "楼道灯坏了三天了")
    assert (second["phone"], second["account"]) == (CALLER, "来电询问停水时间")


async def test_an_offer_never_moves_the_agent_off_the_queue_mid_search(
    own_server: RunningServer,
) -> None:
    app = make_app(own_server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_seat(pilot)
        await pilot.press("ctrl+o")  # app.queue
        await until(pilot, lambda: app.current_mode == "queue", "the queue")
        queue = app.screen
        search = queue.query_one("#queue-search")
        search.focus()
        await pilot.press(*"路灯")
        await run_in_thread(lambda: ring(own_server, "c-queue", CALLER))
        await until(pilot, lambda: CALLER in strip_text(queue), "the strip on the queue")
        assert app.current_mode == "queue" and app.focused is search
        await pilot.press(*"坏了")
        assert search.value == "路灯坏了"

        await pilot.press("alt+p")
        await until(pilot, lambda: app.current_mode == "intake", "intake for the call")
        intake = app.screen
        assert isinstance(intake, IntakeScreen)
        await until(pilot, lambda: intake.values().get("phone") == CALLER, "the number in")


async def test_a_desk_nobody_is_signed_in_to_shows_no_offer(own_server: RunningServer) -> None:
    app = make_app(own_server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        app.post_message(CallOffered(CALLER, "c-nobody"))
        await pilot.pause(0.5)
        assert app.incoming is None
        await sign_in(pilot)
        app.post_message(CallOffered(CALLER, "c-someone"))
        await until(pilot, lambda: app.incoming is not None, "the offer once signed in")
        intake = app.screen
        await until(pilot, lambda: CALLER in strip_text(intake), "the strip")
        await pilot.press("alt+x")  # app.sign_out: the waiting call is not the next user's
        await until(pilot, lambda: app.incoming is None, "the strip emptied at sign-out")
        assert strip_text(intake) == ""
