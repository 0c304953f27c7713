"""Offline intake then sync when the server comes back; a call offer taken into intake.

These need a server of their own (it is stopped and started, or given a telephony token).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from agent_tui.screens.intake import IntakeScreen
from agent_tui.widgets.status_bar import StatusBar
from tests.support.server import RunningServer, start_server
from tests.tui.conftest import USERS, make_app, run_in_thread, sign_in, until
from tests.tui.test_desk_intake import server_get, type_into

TELEPHONY = "telephony-test-token"


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


async def test_offline_intake_is_saved_then_synced_when_the_server_is_back(
    own_server: RunningServer,
) -> None:
    app = make_app(own_server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: app.status.link == "online", "online")
        own_server.stop()
        await until(pilot, lambda: app.status.link == "offline", "the offline mark", 30)

        await until(pilot, lambda: screen.form is not None, "the form")
        await type_into(pilot, "phone", "13700002222")
        await type_into(pilot, "account", "停电了 询问什么时候恢复供电")
        await type_into(pilot, "answer", "已告知预计恢复供电时间")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.last_saved, "saved with no server")
        # The replicator retries while the link is down (syncing for the moment of each
        # try): the bar is read when its states settle, so wait for the settled one.
        await until(
            pilot,
            lambda: app.status.outbox == 1 and app.status.link == "offline",
            "one change waiting, offline",
        )
        bar = str(screen.query_one(StatusBar).render())
        assert "离线" in bar and "待上传 1" in bar
        rows = await run_in_thread(lambda: app.desk.recent_for_phone("13700002222"))
        ticket_id = rows[0].id
        assert rows[0].number is None  # provisional until the server numbers it

        own_server.start()
        await until(pilot, lambda: app.status.outbox == 0, "the outbox to drain", 30)
        await until(
            pilot,
            lambda: (
                (app.desk.ticket(ticket_id) or None)
                and app.desk.ticket(ticket_id).data.get("number")
            ),
            "the server's number",
        )
    remote = await run_in_thread(lambda: server_get(own_server, f"/api/v1/tickets/{ticket_id}"))
    assert remote["account"] == "停电了 询问什么时候恢复供电"


def post_ticket(server: RunningServer, user: str, account: str) -> dict:  # type: ignore[type-arg]
    """A ticket for the caller 13600003333 through the server's REST API."""
    from hotline.ids import uuid7

    token = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": user, "password": USERS[user][1]},
        timeout=10,
    ).json()["access_token"]
    now = datetime.now(UTC).isoformat()
    response = httpx.post(
        server.url + "/api/v1/tickets",
        json={
            "id": uuid7(),
            "call_started_at": now,
            "created_at": now,
            "phone": "13600003333",
            "account": account,
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def test_call_offer_opens_intake_with_the_number_and_the_callers_tickets(
    own_server: RunningServer,
) -> None:
    app = make_app(own_server.url, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await until(pilot, lambda: app.status.link == "online", "online")
        await pilot.press("alt+1")  # app.seat.ready: calls are offered to ready seats only
        await until(pilot, lambda: app.status.outbox == 0, "the seat change sent")
        # the caller's earlier tickets, taken by another agent (the server sends them with
        # the offer whether or not this desk's cache has them yet)
        earlier = [
            await run_in_thread(lambda text=text: post_ticket(own_server, "agent2", text))
            for text in ("小区停水", "停水后水质发黄")
        ]
        await pilot.pause(1.0)  # the event stream subscribes after the first sync
        now = datetime.now(UTC).isoformat()
        events = [
            {
                "event_id": "e1",
                "type": "offered",
                "call_id": "c1",
                "at": now,
                "caller_number": "13600003333",
                "queue": "main",
            },
            {
                "event_id": "e2",
                "type": "offered_to_seat",
                "call_id": "c1",
                "at": now,
                "caller_number": "13600003333",
                "agent": "agent1",
            },
        ]
        answer = await run_in_thread(
            lambda: httpx.post(
                own_server.url + "/api/v1/telephony/events",
                json={"events": events},
                headers={"Authorization": f"Bearer {TELEPHONY}"},
                timeout=10,
            )
        )
        assert answer.status_code == 200, answer.text
        await until(pilot, lambda: app.incoming is not None, "the call in the incoming strip")
        await pilot.press("alt+p")  # app.accept_call
        await until(
            pilot,
            lambda: screen.values().get("phone") == "13600003333",
            "the number filled in",
            20,
        )
        assert "Incoming call 13600003333" in [n.message for n in app._notifications]
        history = screen.query_one("#intake-history")
        numbers = [str(t["number"]) for t in earlier]
        await until(
            pilot,
            lambda: all(n in str(history.render()) for n in numbers),
            "the caller's tickets beside the form",
        )
        assert "consult" in str(history.render())  # each with its kind
