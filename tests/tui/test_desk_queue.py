"""Queue views, search and live countdowns; the ticket view's note and status change; the
knowledge base's one-key insert. Against a real server (the desk syncs what it saves)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agent_tui.screens.intake import IntakeScreen
from agent_tui.screens.queue import QueueScreen
from agent_tui.screens.signin import SignInScreen
from agent_tui.screens.ticket import TicketScreen
from agent_tui.widgets.queue_table import QueueTable, countdown, row_text
from hotline.model import TicketFields
from tests.support.server import RunningServer
from tests.tui.conftest import USERS, make_app, run_in_thread, screen_text, sign_in, until
from tests.tui.test_desk_intake import server_get


class FakeClock:
    """The app's clock for countdowns, moved by the test (never by the wall)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def seed(app: Any, now: datetime) -> dict[str, str]:
    """Tickets straight into the desk's cache, as intake would save them."""
    store = app.desk.store
    ids = {}
    red = TicketFields(phone="13811110000", account="血透中断", urgency="red", caller_name="李红")
    ids["red"] = store.create_ticket(red, call_started_at=now - timedelta(minutes=10)).ticket_id
    late = TicketFields(phone="13811112222", account="发烧求医", urgency="red", caller_name="赵迟")
    ids["late"] = store.create_ticket(late, call_started_at=now - timedelta(minutes=45)).ticket_id
    for i in range(150):
        fields = TicketFields(
            phone=f"1390000{i:04d}",
            account=f"咨询第{i}号",
            caller_name=f"市民{i}",
            address="黄浦区",
        )
        store.create_ticket(fields, call_started_at=now - timedelta(hours=2, minutes=i))
    return ids


def queue_table(app: Any) -> QueueTable | None:
    """The queue's table once the queue screen is up and composed."""
    if not isinstance(app.screen, QueueScreen):
        return None
    found = app.screen.query(QueueTable)
    return found.first() if found else None


async def open_seeded_queue(
    pilot: Any, app: Any, seed: Callable[[Any], None], total: int
) -> tuple[QueueScreen, QueueTable]:
    """Work on the cache (the sign-in dismissed), fill it with ``seed(store)``, open the
    queue's "all" view and wait until its ``total`` tickets are counted and loaded."""
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
    await pilot.press("escape")  # work on the cache
    await until(pilot, lambda: app.desk.store is not None, "the cache")
    await run_in_thread(lambda: seed(app.desk.store))
    await pilot.press("ctrl+o")  # the queue
    table = await until(pilot, lambda: queue_table(app), "the queue")
    screen = app.screen
    assert isinstance(screen, QueueScreen)
    screen.action_view("all")
    await until(pilot, lambda: table.total == total and table.loaded, "every ticket")
    return screen, table


def visible_rows(table: QueueTable) -> list[str]:
    now = table.now or datetime.now(UTC)
    rows = []
    for index in range(table.total):
        row = table.row_at(index)
        if row is not None:
            rows.append(row_text(row, 120, now))
    return rows


async def test_queue_views_search_and_live_countdowns(server: RunningServer) -> None:
    clock = FakeClock()
    app = make_app(server.url)
    app.clock = clock
    async with app.run_test(size=(120, 30)) as pilot:
        await sign_in(pilot, "agent1")
        await run_in_thread(lambda: seed(app, clock.now))
        await pilot.press("ctrl+o")  # app.queue
        table = await until(pilot, lambda: queue_table(app), "the queue")
        await until(pilot, lambda: table.total >= 152 and table.loaded, "the first page")
        # 152 tickets, but only the rows around the viewport were fetched
        assert sum(1 for i in range(table.total) if table.row_at(i)) <= 150

        await pilot.press("3")  # queue.view.red
        await until(pilot, lambda: table.total == 2 and table.loaded, "the red view")
        summary = str(app.screen.query_one("#queue-summary").render())
        assert "红色" in summary and "2" in summary
        red_line = next(r for r in visible_rows(table) if "李红" in r)
        assert red_line.startswith("●")
        red_row = next(
            table.row_at(i) for i in range(table.total) if table.row_at(i).caller_name == "李红"
        )
        left = red_row.deadline_at - clock.now
        assert timedelta(minutes=19) < left <= timedelta(minutes=20)  # 30 min from the call
        assert countdown(red_row.deadline_at, clock.now) in red_line
        clock.now += timedelta(seconds=61)
        later = countdown(red_row.deadline_at, clock.now)
        await until(
            pilot,
            lambda: later in next(r for r in visible_rows(table) if "李红" in r),
            "the countdown to move",
        )
        late_line = next(r for r in visible_rows(table) if "赵迟" in r)
        assert re.search(r"-0:1\d:\d\d", late_line), late_line  # past its 30 minutes

        await pilot.press("4")  # queue.view.overdue
        await until(pilot, lambda: table.total == 1 and table.loaded, "the overdue view")
        assert "赵迟" in visible_rows(table)[0]

        await pilot.press("6", "slash", *"13900000042", "enter")  # all, then search
        await until(pilot, lambda: table.total == 1 and table.loaded, "the search")
        assert "市民42" in visible_rows(table)[0]


async def test_ticket_note_and_status_change_reach_the_server(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent2")
        fields = TicketFields(phone="13522223333", account="噪音扰民", caller_name="周静")
        saved = await run_in_thread(
            lambda: app.desk.store.create_ticket(fields, call_started_at=datetime.now(UTC))
        )
        await pilot.press("ctrl+o")
        table = await until(pilot, lambda: queue_table(app), "the queue")
        await pilot.press("slash", *"13522223333", "enter")
        await until(pilot, lambda: table.total == 1 and table.loaded, "the ticket in the queue")
        await pilot.press("enter")  # queue.open
        await until(pilot, lambda: isinstance(app.screen, TicketScreen), "the ticket view")
        screen = app.screen
        await until(pilot, lambda: screen.ticket is not None, "the ticket loaded")
        await until(pilot, lambda: "周静" in screen_text(app), "the caller's name")

        await pilot.press(*"已联系街道办")
        await pilot.press("ctrl+s")  # ticket.note
        await until(pilot, lambda: screen.query_one("#note").value == "", "the note taken")
        await until(pilot, lambda: "已联系街道办" in screen_text(app), "the note shown")

        await pilot.press("ctrl+g")  # ticket.status: accepted -> dispatched / closed
        await pilot.pause(0.2)
        await pilot.press("1")
        await until(
            pilot,
            lambda: screen.ticket is not None and screen.ticket.data.get("status") == "dispatched",
            "the new status",
        )
        await pilot.press("alt+e")  # ticket.escalate: asks for the reason
        await pilot.pause(0.2)
        await pilot.press(*"居民反复投诉", "enter")
        await until(pilot, lambda: app.status.outbox == 0, "the sync")
        # "escalated" only once the server has taken it (until then: waiting for it)
        await until(
            pilot,
            lambda: "已升级督办" in [n.message for n in app._notifications],
            "the server's acceptance",
        )
        # the server's audit trail replaces the local one once it is there
        await until(pilot, lambda: "状态 → 已派单" in screen_text(app), "the server's history")
        await until(pilot, lambda: "升级督办（居民反复投诉）" in screen_text(app), "escalation")
    remote = await run_in_thread(
        lambda: server_get(server, f"/api/v1/tickets/{saved.ticket_id}", "agent2")
    )
    assert remote["status"] == "dispatched"
    pulled = await run_in_thread(
        lambda: server_get(
            server,
            "/api/v1/sync/pull?cursor=0&limit=1000&client_id=" + str(uuid.uuid4()),
            "agent2",
        )
    )
    notes = [c["data"] for c in pulled["changes"] if c["entity"] == "note"]
    assert any(n["body"] == "已联系街道办" and n["ticket_id"] == saved.ticket_id for n in notes)


async def test_knowledge_base_search_offline_and_insert_with_one_key(
    server: RunningServer,
) -> None:
    token = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": "lead1", "password": USERS["lead1"][1]},
        timeout=10,
    ).json()["access_token"]
    article = {
        "title": "停水咨询答复口径",
        "body": "因管道抢修临时停水，预计今晚八点前恢复供水。",
        "tags": ["停水"],
        "category": "water",
    }
    created = httpx.post(
        server.url + "/api/v1/kb",
        json=article,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        await until(
            pilot,
            lambda: app.desk.store.kb_search("停水"),
            "the article in the cache",
        )
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await pilot.press("ctrl+f")  # app.kb
        await until(pilot, lambda: app.screen is not screen, "the knowledge base")
        await pilot.press(*"停水")
        await until(
            pilot,
            lambda: "预计今晚八点前恢复供水" in screen_text(app),
            "the article text",
        )
        await pilot.press("ctrl+b")  # kb.insert
        await until(pilot, lambda: app.screen is screen, "back on intake")
        assert "预计今晚八点前恢复供水" in screen.values()["answer"]


async def test_inserting_an_answer_script_puts_only_the_callers_words_into_the_form(
    server: RunningServer,
) -> None:
    token = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": "lead1", "password": USERS["lead1"][1]},
        timeout=10,
    ).json()["access_token"]
    article = {
        "title": "道路积水答复口径",
        "body": "内部提示：派单区水务局，不要承诺抽排完成时间。\n"
        "答复口径：您反映的积水情况已转交排水部门，请不要涉水通行。",
        "tags": ["积水"],
        "category": "environment",
    }
    created = httpx.post(
        server.url + "/api/v1/kb",
        json=article,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        await until(pilot, lambda: app.desk.store.kb_search("积水"), "the article in the cache")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await pilot.press("ctrl+f")  # app.kb
        await until(pilot, lambda: app.screen is not screen, "the knowledge base")
        await pilot.press(*"积水")
        # the agent reads both parts, each under its own heading
        await until(pilot, lambda: "不要承诺抽排完成时间" in screen_text(app), "the notes")
        text = screen_text(app)
        assert "答复口径（插入答复）" in text and "内部提示（不插入）" in text
        await pilot.press("ctrl+b")  # kb.insert
        await until(pilot, lambda: app.screen is screen, "back on intake")
        answer = screen.values()["answer"]
        assert answer == "您反映的积水情况已转交排水部门，请不要涉水通行。"
        assert "水务局" not in answer and "内部提示" not in answer


async def test_a_lost_conflict_is_shown_side_by_side_and_the_agent_chooses(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        fields = TicketFields(phone="13533334444", account="占道经营", address="原地址1号")
        saved = await run_in_thread(
            lambda: app.desk.store.create_ticket(fields, call_started_at=datetime.now(UTC))
        )
        tid = saved.ticket_id
        await until(
            pilot, lambda: (app.desk.ticket(tid).data.get("revision") or 0) >= 1, "revision 1"
        )
        # someone else (another desk of the same agent) changes the address first ...
        token = httpx.post(
            server.url + "/api/v1/auth/login",
            json={"username": "agent1", "password": USERS["agent1"][1]},
            timeout=10,
        ).json()["access_token"]
        other = {
            "client_id": str(uuid.uuid4()),
            "mutations": [
                {
                    "mutation_id": 1,
                    "name": "update_ticket",
                    "args": {"ticket_id": tid, "base_revision": 1, "changes": {"address": "甲路"}},
                    "client_time": datetime.now(UTC).isoformat(),
                }
            ],
        }
        pushed = await run_in_thread(
            lambda: httpx.post(
                server.url + "/api/v1/sync/push",
                json=other,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
        )
        assert pushed.status_code == 200, pushed.text
        # ... while this desk, still at revision 1, writes another address
        await run_in_thread(
            lambda: app.desk.store.update_ticket(tid, {"address": "乙路"}, base_revision=1)
        )
        await until(pilot, lambda: app.status.attention == 1, "the conflict to come back")
        assert "待处理 1" in screen_text(app)

        await pilot.press("ctrl+o")
        table = await until(pilot, lambda: queue_table(app), "the queue")
        await pilot.press("5")  # queue.view.attention
        await until(pilot, lambda: table.total == 1 and table.loaded, "the attention view")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen), "the ticket")
        await until(pilot, lambda: "冲突：地址" in screen_text(app), "both values")
        text = screen_text(app)
        assert "我的值: 乙路" in text and "服务器的值: 甲路" in text
        await pilot.press("alt+v")  # ticket.conflict
        await pilot.pause(0.2)
        await pilot.press("2")  # keep the other desk's value
        await until(pilot, lambda: app.status.attention == 0, "the conflict settled")
        await until(pilot, lambda: app.status.outbox == 0, "the sync")
    remote = await run_in_thread(lambda: server_get(server, f"/api/v1/tickets/{tid}"))
    assert remote["address"] == "甲路"


async def test_callback_records_the_callers_satisfaction(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent2")
        fields = TicketFields(phone="13566667777", account="咨询公积金提取", answer="已当场解答")
        saved = await run_in_thread(
            lambda: app.desk.store.create_ticket(
                fields, call_started_at=datetime.now(UTC), disposition="on_spot"
            )
        )
        tid = saved.ticket_id
        await until(pilot, lambda: app.desk.ticket(tid).data.get("status") == "closed", "closed")
        await pilot.app.push_screen(TicketScreen(tid))
        screen = app.screen
        await until(pilot, lambda: screen.ticket is not None, "the ticket")
        await pilot.press("alt+c")  # ticket.callback: 满意 / 基本满意 / 不满意 / not reached
        await pilot.pause(0.2)
        assert "1. 满意" in screen_text(app) and "4. 未联系上" in screen_text(app)
        await pilot.press("1")  # 满意
        await until(pilot, lambda: app.status.outbox == 0, "the sync")
        await until(pilot, lambda: "满意度" in screen_text(app), "the score on the ticket")
    remote = await run_in_thread(lambda: server_get(server, f"/api/v1/tickets/{tid}", "agent2"))
    assert (remote["status"], remote["satisfaction"]) == ("evaluated", "satisfied")


async def test_evaluating_asks_for_the_score_and_names_it_when_missing(
    server: RunningServer,
) -> None:
    """评价 from the status list opens the three-level score; without one the agent is told
    the field that is missing, and the ticket stays as it was."""
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent2")
        fields = TicketFields(phone="13566668888", account="咨询居住证办理", answer="已当场解答")
        saved = await run_in_thread(
            lambda: app.desk.store.create_ticket(
                fields, call_started_at=datetime.now(UTC), disposition="on_spot"
            )
        )
        tid = saved.ticket_id
        await until(pilot, lambda: app.desk.ticket(tid).data.get("status") == "closed", "closed")
        await pilot.app.push_screen(TicketScreen(tid))
        screen = app.screen
        await until(pilot, lambda: screen.ticket is not None, "the ticket")
        await pilot.press("ctrl+g")  # ticket.status: 办理 / 回访 / 已评价
        await pilot.pause(0.2)
        await pilot.press("3")  # 已评价: needs the caller's score
        await until(pilot, lambda: "评价：来电人是否满意" in screen_text(app), "the score")
        assert "未联系上" not in screen_text(app)  # an evaluation has a score
        await pilot.press("escape")
        missing = "评价须记录满意度（满意、基本满意或不满意）"
        await until(
            pilot,
            lambda: missing in [str(n.message) for n in app._notifications],
            "the missing-score warning",
        )
        assert app.desk.ticket(tid).data.get("status") == "closed"
        assert app.status.outbox == 0  # nothing was queued
        await pilot.press("ctrl+g")
        await pilot.pause(0.2)
        await pilot.press("3")
        await until(pilot, lambda: "评价：来电人是否满意" in screen_text(app), "the score")
        await pilot.press("2")  # 基本满意
        await until(pilot, lambda: app.status.outbox == 0, "the sync")
        await until(pilot, lambda: "基本满意" in screen_text(app), "the score on the ticket")
    remote = await run_in_thread(lambda: server_get(server, f"/api/v1/tickets/{tid}", "agent2"))
    assert (remote["status"], remote["satisfaction"]) == ("evaluated", "basically_satisfied")
