"""Keys typed at machine speed (a paste, an auto-typing tool, a barcode-style burst) all
land in the intake form: sent in one burst with no pause between them, right after signing
in, every character arrives in the field it was typed for."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.keys import _character_to_key

from agent_tui.screens.intake import IntakeScreen
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, sign_in, until

NAME = "欧阳小红Ann"
PHONE = "13812340001"
ADDRESS = "徐汇区漕溪北路100号B座"
ACCOUNT = "小区门口的垃圾三天没有清运 please help 42"
PASTED = "（粘贴）气味很大，影响出行。"


def burst(app: Any, keys: list[str]) -> None:
    """Queue every key at once, as a terminal delivers a fast burst: nothing waits for the
    app to handle one key before the next is sent."""
    for key in keys:
        char = key if len(key) == 1 else None
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_a_burst_of_keys_right_after_sign_in_lands_whole_in_the_form(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await until(pilot, lambda: app.focused is not None, "a focused widget")
        # the first field (类型) has the focus; tab walks the form in order
        burst(
            app,
            ["tab", *NAME, "tab", *PHONE, "tab", "tab", *ADDRESS] + ["tab"] * 4 + [*ACCOUNT],
        )
        paste = events.Paste(PASTED)
        paste.set_sender(app)
        app._driver.send_message(paste)  # type: ignore[union-attr]
        await until(pilot, lambda: screen.values().get("account", "").endswith("。"), "the paste")
        values = screen.values()
        assert values["caller_name"] == NAME
        assert values["phone"] == PHONE
        assert values["address"] == ADDRESS
        assert values["account"] == ACCOUNT + PASTED


NEXT_NAME = "司马小军"
ANSWER = "已告知清运时间"
NEXT_PHONE = "13912340002"


async def test_keys_typed_right_after_the_submit_key_start_the_next_ticket(
    server: RunningServer,
) -> None:
    """An auto-typing tool types a ticket, presses 当场解答 (Ctrl+S) and goes straight on
    with the next caller: the first ticket is saved whole, and every key after Ctrl+S lands
    in the next ticket's form (before the fix the save's form rebuild wiped them)."""
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await until(pilot, lambda: app.focused is not None, "a focused widget")
        first_ticket = screen.ticket_id
        burst(
            app,
            ["tab", *NAME, "tab", *PHONE, "tab", "tab", *ADDRESS]
            + ["tab"] * 4
            + [*ACCOUNT, "tab", "tab", *ANSWER]  # past 诉求分类 to 答复内容 (当场解答 needs it)
            + ["ctrl+s", "tab", *NEXT_NAME, "tab", *NEXT_PHONE],
        )
        await until(
            pilot, lambda: screen.values().get("phone") == NEXT_PHONE, "the next caller's phone"
        )
        await until(pilot, lambda: app.desk.ticket(first_ticket) is not None, "the first save")
        saved = app.desk.ticket(first_ticket)
        assert saved.data["caller_name"] == NAME
        assert saved.data["phone"] == PHONE
        assert saved.data["account"] == ACCOUNT
        assert saved.data["answer"] == ANSWER
        values = screen.values()
        assert values["caller_name"] == NEXT_NAME
        assert values["account"] == ""  # nothing of the first ticket is left in the form
        assert screen.ticket_id != first_ticket
