"""A field's change is handed to the intake screen at its row, not bubbled through the form's
containers (``FieldRow.on_input_changed``): each hop was a message in another widget's queue
on every key typed."""

from __future__ import annotations

from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from agent_tui.screens.intake import IntakeScreen
from agent_tui.widgets.field_row import FieldRow
from tests.support.server import free_port
from tests.tui.conftest import make_app, until
from tests.tui.test_desk_form_rows import intake
from tests.tui.test_desk_textual_overrides import focus_field


async def test_a_typed_key_reaches_the_screen_from_its_row_without_the_containers() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        holder = screen.query_one("#fields", Vertical)
        reached: list[Message] = []
        real = holder._on_message

        async def counted(message: Message) -> None:
            if isinstance(message, Input.Changed):
                reached.append(message)
            await real(message)

        holder._on_message = counted  # type: ignore[method-assign]
        field = await focus_field(pilot, screen, "address")
        await pilot.press(*"漕溪北路1号")
        await until(pilot, lambda: screen.values()["address"] == "漕溪北路1号", "the keys")
        await pilot.pause(0.1)
        # every key taken by the screen (the answer is the form's, the field touched) ...
        assert field.value == "漕溪北路1号"
        assert screen._baseline["address"] == "漕溪北路1号"
        assert "address" in screen.touched and screen.call_started_at is not None
        # ... and none of the changes went on to the form's containers
        assert reached == []


async def test_a_change_during_a_rebuild_bubbles_on_to_the_screen() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        row = screen.query_one("#row-address", FieldRow)
        assert row.answer_changed is not None
        async with screen._building:  # the screen is rebuilding its form
            assert row.answer_changed(row, True) is False
            assert "address" not in screen.touched
        assert row.answer_changed(row, True) is True
