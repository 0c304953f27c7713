"""A change the server refuses: escalating a ticket already at the top of the ladder. The
desk first says the escalation waits for the server (never "已升级督办" before the server
said so), then shows the server's refusal; the agent deals with it from the ticket: fix it
(the reason comes back to edit and send again) or dismiss it, which takes it off the
needs-attention list but keeps it on the ticket's record. Real server process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent_tui.screens.dialogs import TextDialog
from agent_tui.screens.ticket import TicketScreen
from hotline.model import TicketFields
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, run_in_thread, sign_in, until
from tests.tui.test_desk_queue import queue_table

TOP = "the ticket is already at the top of the escalation ladder"  # the server's words
TOP_ZH = "已是最高督办级别（市级督办），不能再升级"  # the same, as the Chinese desk says it


def shown(screen: Any, part: str) -> str:
    """What a part of the ticket view shows (its words, however the column wraps them)."""
    found = screen.query(f"#{part}")
    return str(found.first().render()) if found and found.first().display else ""


def notes(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_refused_escalation_is_shown_then_fixed_or_dismissed(server: RunningServer) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent1")
        store = app.desk.store
        fields = TicketFields(phone="13544445555", account="井盖缺失", caller_name="吴险")

        def at_the_top() -> str:
            tid = store.create_ticket(fields, call_started_at=datetime.now(UTC)).ticket_id
            for n in range(3):  # agent -> aggregation -> special -> city: the top rung
                store.escalate(tid, f"第{n + 1}次")
            return tid

        tid = await run_in_thread(at_the_top)
        await until(pilot, lambda: app.status.outbox == 0 and app.status.link == "online", "sync")
        assert (await run_in_thread(lambda: store.get_ticket(tid))).data["escalation_level"] == 3

        await pilot.press("ctrl+o")
        table = await until(pilot, lambda: queue_table(app), "the queue")
        await pilot.press("slash", *"13544445555", "enter")
        await until(pilot, lambda: table.total == 1 and table.loaded, "the ticket in the queue")
        await pilot.press("enter")
        screen = await until(
            pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen, "the ticket"
        )
        await until(pilot, lambda: screen.ticket is not None, "the ticket loaded")

        await pilot.press("alt+e")  # ticket.escalate
        await until(pilot, lambda: isinstance(app.screen, TextDialog), "the reason dialog")
        await pilot.press(*"再次催办", "enter")
        await until(pilot, lambda: "升级督办已保存，等待服务器确认" in notes(app), "queued")
        refused = f"升级督办被服务器拒绝：{TOP_ZH}"
        await until(pilot, lambda: refused in notes(app), "the server's refusal")
        assert "已升级督办" not in notes(app)  # never claimed before the server answered
        await until(pilot, lambda: app.status.attention == 1, "one change needing attention")
        await until(
            pilot, lambda: TOP_ZH in shown(screen, "attention"), "the refusal on the ticket"
        )
        assert TOP not in shown(screen, "attention")  # never the server's English words

        # fix: the refused escalation comes back with its reason, ready to edit and resend
        await pilot.press("alt+k")  # ticket.attention
        await pilot.pause(0.2)
        await pilot.press("1")  # 修改后重新提交
        dialog = await until(
            pilot, lambda: isinstance(app.screen, TextDialog) and app.screen, "the reason again"
        )
        assert dialog.query_one("#text").value == "再次催办"
        await pilot.press("escape")  # the agent gives up on it: nothing is sent
        await until(pilot, lambda: app.status.attention == 0, "off the needs-attention list")
        assert await run_in_thread(lambda: store.outbox_stats().size) == 0

        # kept on record: the refusal stays in the ticket's history, and in the cache
        await until(pilot, lambda: "服务器拒绝（已知悉）" in shown(screen, "history"), "on record")
        assert TOP_ZH in shown(screen, "history") and not shown(screen, "attention")
        [kept] = await run_in_thread(lambda: store.needs_attention(seen=True))
        assert kept.name == "escalate" and kept.args["reason"] == "再次催办"


async def test_a_refused_change_can_be_dismissed_from_the_ticket(server: RunningServer) -> None:
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot, "agent2")
        store = app.desk.store
        fields = TicketFields(phone="13566667777", account="路灯不亮", caller_name="Zhou")

        def refused_once() -> str:
            tid = store.create_ticket(fields, call_started_at=datetime.now(UTC)).ticket_id
            for n in range(4):  # the fourth is one rung too many
                store.escalate(tid, f"round {n + 1}")
            return tid

        tid = await run_in_thread(refused_once)
        await until(pilot, lambda: app.status.attention == 1, "the refusal")
        app.push_screen(TicketScreen(tid))
        screen = await until(
            pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen, "the ticket"
        )
        await until(pilot, lambda: TOP in shown(screen, "attention"), "the refusal on the ticket")
        assert "press alt+k to deal with it" in shown(screen, "attention")
        await pilot.press("alt+k")  # ticket.attention
        await pilot.pause(0.2)
        await pilot.press("2")  # Seen: off the list (kept on record)
        await until(pilot, lambda: app.status.attention == 0, "off the list")
        assert "Off the list; kept in the ticket's history" in notes(app)
        await until(
            pilot, lambda: "refused by the server (seen)" in shown(screen, "history"), "record"
        )
        assert screen.ticket is not None
