"""Intake against a real server: validation as you type, save with no network, the server's
number arriving, the duplicate warning and 并单, a call offer opening intake."""

from __future__ import annotations

from typing import Any

import httpx

from agent_tui.screens.intake import IntakeScreen
from tests.support.server import RunningServer
from tests.tui.conftest import USERS, make_app, run_in_thread, screen_text, sign_in, until


def server_get(server: RunningServer, path: str, user: str = "agent1") -> Any:
    token = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": user, "password": USERS[user][1]},
        timeout=10,
    ).json()["access_token"]
    response = httpx.get(
        server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


async def type_into(pilot: Any, field: str, text: str) -> None:
    """Focus the field's widget and type ``text`` key by key (Chinese characters too)."""
    screen = pilot.app.screen
    widget = screen.query_one(f"#f-{field}")
    widget.focus()
    await pilot.pause()
    await pilot.press(*text)


def message(screen: IntakeScreen, field: str) -> str:
    """The message under the field ("" when it has none: the line is made on its first)."""
    found = screen.query(f"#msg-{field}")
    label = found.first() if found else None
    return str(label.render()) if label is not None and label.display else ""


async def test_validation_as_you_type_then_a_saved_ticket_reaches_the_server(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")

        await type_into(pilot, "phone", "12345")
        await until(pilot, lambda: "联系电话" in message(screen, "phone"), "the phone message")
        await pilot.press("ctrl+s")  # intake.on_spot: refused, every problem shown
        await until(pilot, lambda: "诉求内容" in message(screen, "account"), "account required")
        assert "当场解答" in message(screen, "answer")  # 答复内容 is required on the spot
        assert screen.query_one("#f-phone").has_focus  # the first field at fault

        await pilot.press(*["backspace"] * 5, *"13812345678")
        await until(pilot, lambda: message(screen, "phone") == "", "the phone message to go")
        await type_into(pilot, "caller_name", "王小明")
        await type_into(pilot, "address", "徐汇区漕溪北路100号")
        await type_into(pilot, "account", "小区门口的垃圾三天没有清运")
        await until(pilot, lambda: message(screen, "account") == "", "the account message")
        await type_into(pilot, "answer", "已联系环卫所今日清运")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.last_saved, "the saved message")
        assert "当场解答" in screen.last_saved

        rows = await run_in_thread(lambda: app.desk.recent_for_phone("13812345678"))
        assert [r.caller_name for r in rows] == ["王小明"]
        ticket_id = rows[0].id

        def numbered() -> bool:
            local = app.desk.ticket(ticket_id)
            return local is not None and local.data.get("number") is not None

        await until(pilot, numbered, "the server's number")
        assert app.status.outbox == 0 or await until(
            pilot, lambda: app.status.outbox == 0, "an empty outbox"
        )
    remote = await run_in_thread(lambda: server_get(server, f"/api/v1/tickets/{ticket_id}"))
    assert remote["caller_name"] == "王小明"
    assert remote["account"] == "小区门口的垃圾三天没有清运"
    assert remote["status"] == "closed"


async def test_red_answer_and_shown_only_when_fields(server: RunningServer) -> None:
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await pilot.app.screen._use_form("urgent_medical")  # the form picker's choice
        row = screen.query_one("#row-bite_time")
        assert not row.display
        red = screen.query_one("#intake-red")
        assert not red.display
        select = screen.query_one("#f-urgent_subcategory")
        select.value = "rabies_vaccine"
        await until(pilot, lambda: row.display, "the bite-time field")
        assert red.display and "RED" in str(red.render())
        await type_into(pilot, "bite_time", "yesterday")
        await until(
            pilot, lambda: "Time of the bite" in message(screen, "bite_time"), "the date message"
        )


async def test_duplicate_warning_offers_merge_into_the_open_ticket(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "agent2")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        for text in ("路灯坏了", "路灯还是不亮"):
            await type_into(pilot, "phone", "13900001111")
            await type_into(pilot, "address", "静安区南京西路1号")
            await type_into(pilot, "account", text)
            if text == "路灯坏了":
                await pilot.press("ctrl+g")  # intake.dispatch
                await until(pilot, lambda: "已派单" in screen.last_saved, "the dispatch")
                await until(pilot, lambda: screen.duplicate is None, "a fresh form")
        await until(pilot, lambda: screen.duplicate is not None, "the duplicate warning")
        warning = str(screen.query_one("#intake-duplicate").render())
        assert "可能重复" in warning and "alt+m" in warning
        assert "来电人 13900001111" in warning  # the open ticket's caller
        first_id = screen.duplicate.id
        await pilot.press("alt+m")  # intake.merge
        await until(pilot, lambda: "已并入" in screen.last_saved, "the merge")
        # both callers named: this call's and the ticket it joined
        assert "本次来电人 13900001111 → 原单来电人 13900001111" in screen.last_saved

        rows = await run_in_thread(lambda: app.desk.recent_for_phone("13900001111"))
        merged = [r for r in rows if r.id != first_id]
        assert [r.status for r in merged] == ["merged"]
        # the merged ticket's view names the ticket it joined and that ticket's caller
        from agent_tui.screens.ticket import TicketScreen

        first = next(r for r in rows if r.id == first_id)
        await app.push_screen(TicketScreen(merged[0].id))
        joined = ("并入工单", f"{first.display_number}（来电人", "13900001111）")  # may wrap
        await until(
            pilot,
            lambda: all(part in screen_text(app) for part in joined),
            "the ticket it joined",
        )
        await until(pilot, lambda: app.status.outbox == 0, "the sync")
    remote = await run_in_thread(
        lambda: server_get(server, f"/api/v1/tickets/{merged[0].id}", "agent2")
    )
    assert remote["status"] == "merged" and remote["merged_into"] == first_id
