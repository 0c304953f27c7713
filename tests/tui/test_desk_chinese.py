"""Chinese everywhere (issue 11): a new agent or lead working in zh meets no English label, no
code name and no Python exception name on any screen; the command palette speaks Chinese and
finds an action by its binding id; ``--lang en`` stays English."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList

from agent_tui.i18n import set_language
from agent_tui.lead import LeadPanelScreen
from agent_tui.neterrors import error_text
from agent_tui.reasons import reason_text
from agent_tui.screens.queue import QueueScreen
from agent_tui.screens.ticket import TicketScreen
from hotline.model import TicketFields
from offline_cache import credentials
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, run_in_thread, screen_text, sign_in, until
from tests.tui.test_desk_queue import queue_table

# English the zh desk showed before (codes, Textual's own words, exception names)
ENGLISH = (
    "palette",
    "Theme",
    "Quit",
    "Keys",
    "Screenshot",
    "general",
    "urgent_medical",
    "dialysis",
    "medical",
    "offered",
    "answered",
    "desk",
    "srv.",
    "Error",
    "Exception",
)
# ASCII words a zh screen may hold: user names, key names, units of the charts' clock
ALLOWED = {"lead1", "agent1", "ctrl", "alt", "tab", "enter", "esc", "shift", "del", "space"}


@pytest.fixture(autouse=True)
def _zh() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("zh")


def english_in(text: str) -> list[str]:
    """Known English labels, and any ASCII word of 3+ letters not on the allowed list."""
    found = [word for word in ENGLISH if word in text]
    words = {w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.]{2,}", text) if w not in ALLOWED}
    # user names (lead1) and a not-yet-numbered ticket's code (letters and digits) are data
    return found + sorted(w for w in words if not re.fullmatch(r"[a-z]+\d+|[A-Z0-9]+", w))


async def palette_hits(pilot: Any, query: str) -> list[str]:
    """Open the palette, type ``query``, return the titles (and help lines) it offers."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    await pilot.press(*query)
    options = app.screen.query_one(OptionList)
    await until(pilot, lambda: options.option_count > 0, f"palette hits for {query!r}")
    await pilot.pause(0.3)
    hits = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), "the palette closed")
    return hits


async def test_every_screen_in_zh_shows_no_english(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(160, 48)) as pilot:
        await sign_in(pilot, "lead1")
        fields = TicketFields(
            phone="13600001111",
            account="父亲血透中断两次，请求协调",
            caller_name="王红",
            category="urgent_medical",
            urgent_subcategory="dialysis",
            urgency="red",
            extra={"hospital": "瑞金医院", "vaccine_dose": "2"},
        )
        await run_in_thread(
            lambda: app.desk.store.create_ticket(fields, call_started_at=datetime.now(UTC))
        )
        await pilot.pause(0.5)
        intake = screen_text(app)
        assert english_in(intake) == [], intake

        await pilot.press("ctrl+o")
        table = await until(pilot, lambda: queue_table(app), "the queue")
        await pilot.press("slash", *"13600001111", "enter")
        await until(pilot, lambda: table.total == 1 and table.loaded, "the ticket in the queue")
        queue = screen_text(app)
        assert english_in(queue) == [], queue

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TicketScreen), "the ticket view")
        await until(pilot, lambda: "王红" in screen_text(app), "the ticket loaded")
        await until(pilot, lambda: "受理" in screen_text(app), "its history")
        ticket = screen_text(app)
        assert "紧急求医" in ticket and "血透" in ticket
        assert "原就诊医院" in ticket and "第二针" in ticket  # the form's own words
        assert english_in(ticket) == [], ticket

        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, LeadPanelScreen), "the lead panel")
        panel = app.screen
        await until(pilot, lambda: panel.refresh_count >= 1 and panel.data.red, "the red list")
        await pilot.pause(0.5)
        lead = screen_text(app)
        assert "血透" in lead
        assert english_in(lead) == [], lead
        export = await palette_hits(pilot, "lead.export")
        assert any("导出今日" in hit for hit in export), export


async def test_the_palette_speaks_chinese_and_finds_binding_ids(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        built_in = " ".join(await palette_hits(pilot, "主题"))
        assert "主题" in built_in and "Theme" not in built_in
        quit_hits = " ".join(await palette_hits(pilot, "退出程序"))
        assert "退出程序" in quit_hits
        dispatch = await palette_hits(pilot, "intake.dispatch")
        assert any("派单" in hit for hit in dispatch), dispatch
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), "the queue")
        red = await palette_hits(pilot, "queue.view.red")
        assert any("红色紧急" in hit for hit in red), red
        footer = screen_text(app).splitlines()[-1]
        assert "palette" not in footer and "命令" in footer


async def test_english_stays_english(server: RunningServer) -> None:
    set_language("en")
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        hits = " ".join(await palette_hits(pilot, "theme"))
        assert "Theme" in hits and "主题" not in hits
        dispatch = await palette_hits(pilot, "intake.dispatch")
        assert any("Dispatch" in hit for hit in dispatch), dispatch


class ClosingServer:
    """A loopback port that accepts each connection and closes it at once, as a server
    that dies mid-request does: httpx then raises RemoteProtocolError."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(100_000):
            if self.stopping.is_set():
                return
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


async def test_a_dropped_connection_is_said_in_chinese_on_the_status_bar() -> None:
    closing = ClosingServer()
    try:
        app = make_app(closing.url)
        # signed in earlier: the desk opens on its cache and the replicator keeps trying
        credentials.save_token(app.settings.profile, app.desk.server, "a-token")
        async with app.run_test(size=(120, 36)) as pilot:
            await until(pilot, lambda: app.status.detail, "the sync error")
            await pilot.pause(0.2)
            top = screen_text(app).splitlines()[0]
            # which of these depends on when the socket closes (reset, dropped, refused)
            words = ("连接被重置", "网络中断", "无法连接服务器")
            assert any(word in top for word in words), top
            assert "Error" not in top and "Remote" not in top, top
    finally:
        closing.stop()


def test_network_errors_become_words_not_class_names() -> None:
    assert error_text("ReadError: [Errno 104] Connection reset by peer") == "网络中断"
    assert error_text("RemoteProtocolError: Server disconnected") == "连接被重置"
    assert error_text("ConnectError: [Errno 111] Connection refused") == "无法连接服务器"
    assert error_text("ReadTimeout: timed out") == "连接超时"
    assert error_text("HTTP 503: 服务器维护中") == "服务器出错（503）：服务器维护中"
    assert error_text("SomethingNewError: boom") == "网络错误"
    assert error_text("字段 phone 不合法") == "字段 phone 不合法"  # the server's own words
    set_language("en")
    assert error_text("ReadError: x") == "the network dropped"


def test_the_servers_history_reasons_in_the_desks_language() -> None:
    overdue = "overdue: no first response within the deadline of a red ticket"
    aggregation = (
        "escalated to aggregation (汇总): no first response by 2026-03-15 10:30; "
        "handed to the district's ticket group"
    )
    assert reason_text(overdue) == "已超时：红色工单未在时限内首次响应"
    both = reason_text(f"{overdue}; {aggregation}")
    assert (
        both == "已超时：红色工单未在时限内首次响应；"
        "升级为汇总：2026-03-15 10:30 前未首次响应，转区工单组"
    )
    supervision = (
        "escalated to special supervision (专人督办): unresolved at 2026-03-16 09:00; "
        "the handling unit reports by 2026-03-16 17:00"
    )
    assert "专人督办" in reason_text(supervision) and "unresolved" not in reason_text(supervision)
    assert reason_text("merged into 20260315-000007 (并单)") == "已并入 20260315-000007"
    assert reason_text("escalated to aggregation by the escalation clock") == "升级时钟升级为汇总"
    assert reason_text("楼下噪音未解决") == "楼下噪音未解决"  # an agent's own words stay
    set_language("en")
    assert reason_text(overdue) == "overdue: no first response in time"


async def test_a_merge_reason_from_the_server_is_shown_in_chinese(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        ids = []
        for account in ("路灯不亮", "路灯还是不亮"):
            fields = TicketFields(phone="13700002222", account=account, caller_name="陈亮")
            saved = await run_in_thread(
                lambda f=fields: app.desk.store.create_ticket(f, call_started_at=datetime.now(UTC))
            )
            ids.append(saved.ticket_id)
        kept, repeat = ids
        for tid in ids:
            await until(
                pilot, lambda t=tid: (app.desk.ticket(t).data.get("revision") or 0) >= 1, "synced"
            )
        await run_in_thread(lambda: app.desk.merge(repeat, kept))
        await until(
            pilot, lambda: app.desk.ticket(repeat).data.get("status") == "merged", "the merge"
        )
        await pilot.pause(1.0)  # the merge's push has reached the server
        number = app.desk.ticket(repeat).display_number
        app.push_screen(TicketScreen(kept))
        await until(pilot, lambda: isinstance(app.screen, TicketScreen), "the ticket view")
        await until(
            pilot, lambda: f"工单 {number} 已并入本单" in screen_text(app), "the merge reason"
        )
        text = screen_text(app)
        assert "merged into" not in text and "srv." not in text, text
