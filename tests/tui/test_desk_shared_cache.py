"""One desk, two agents (shift change): the server binds a desk's client id to the user who
first synced from it (issue 12). The next agent's tickets still reach the server as theirs;
what the first agent left unsent stays in the outbox, marked on the status bar, until they
sign in again."""

from __future__ import annotations

import httpx

from hotline.model import TicketFields
from tests.support.server import RunningServer
from tests.tui.conftest import USERS, make_app, run_in_thread, screen_text, sign_in, until
from tests.tui.test_desk_intake import server_get


async def test_the_next_agent_at_a_synced_desk_gets_their_tickets_through(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        await until(pilot, lambda: app.status.link == "online", "online as agent1")
        first = app.desk.store.client_id
        await pilot.press(app.key_for("app.sign_out"))
        await sign_in(pilot, "agent2")
        fields = TicketFields(phone="13566667777", account="换班后的第一张工单")
        saved = await run_in_thread(
            lambda: app.desk.store.create_ticket(fields, call_started_at=app.clock())
        )
        app.desk.sync_now()

        def numbered() -> bool:  # the server's number came back: it has the ticket
            ticket = app.desk.store.get_ticket(str(saved.ticket_id))
            return ticket is not None and bool(ticket.data.get("number"))

        await until(pilot, numbered, "the server's number for the ticket")
        await until(pilot, lambda: app.status.outbox == 0, "the outbox empty")
        assert app.desk.store.client_id != first  # agent1's id stays agent1's
    ticket = server_get(server, f"/api/v1/tickets/{saved.ticket_id}", "lead1")
    assert ticket["created_by"] == "agent2" and ticket["account"] == "换班后的第一张工单"


async def test_unsent_work_of_the_previous_agent_is_kept_and_marked(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        await until(pilot, lambda: app.status.link == "online", "online as agent1")
        await pilot.press(app.key_for("app.sign_out"))
        # agent1's last ticket was saved but not sent when agent2 took the desk
        fields = TicketFields(phone="13588889999", account="上一班未上传的工单")
        saved = await run_in_thread(
            lambda: app.desk.store.create_ticket(fields, call_started_at=app.clock())
        )
        await sign_in(pilot, "agent2")
        app.desk.sync_now()
        await until(pilot, lambda: "缓存属于其他用户" in screen_text(app), "the mark")
        assert app.status.outbox == 1 and app.status.link == "wrong_user"
    lead = {"username": "lead1", "password": USERS["lead1"][1]}
    token = httpx.post(server.url + "/api/v1/auth/login", json=lead, timeout=10).json()
    unsent = httpx.get(server.url + f"/api/v1/tickets/{saved.ticket_id}", timeout=10,
                       headers={"Authorization": f"Bearer {token['access_token']}"})  # fmt: skip
    assert unsent.status_code == 404  # not sent as agent2
