"""A field's change is handed to the intake screen at its row, not bubbled through the form's
containers (``FieldRow.on_input_changed``): each hop was a message in another widget's queue
on every key typed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from agent_tui.screens import intake as intake_module
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


async def test_the_autosave_waits_for_the_pause_on_one_timer_not_one_per_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake_module, "AUTOSAVE_SECONDS", 30.0)  # not during this test
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        made: list[Any] = []
        real_timer = screen.set_timer

        def counted(delay: float, callback: Any = None, **kwargs: Any) -> Any:
            if getattr(callback, "__name__", "") in ("_after_typing", "_autosave_due"):
                made.append(delay)
            return real_timer(delay, callback, **kwargs)

        saved: list[str] = []
        monkeypatch.setattr(screen, "set_timer", counted)
        monkeypatch.setattr(screen, "_after_typing", lambda: saved.append("x"))
        await focus_field(pilot, screen, "address")
        screen._stop_autosave()  # from the form's opening
        await pilot.press(*"漕溪北路1号")
        await until(pilot, lambda: screen.values()["address"] == "漕溪北路1号", "the keys")
        assert len(made) == 1, f"{len(made)} autosave timers for 6 keys"
        # the timer firing before the quiet moment waits for the rest, saving nothing
        screen._autosave_at = time.monotonic() + 20
        screen._autosave_due()
        assert saved == [] and len(made) == 2 and 19 < made[1] <= 20
        # once the keys have paused that long, the draft is saved, once
        screen._autosave_at = time.monotonic() - 0.01
        screen._autosave_due()
        assert saved == ["x"] and screen._autosave is None
        # a submit or a call stops it; the next key starts one again
        await pilot.press("a")
        assert len(made) == 3 and screen._autosave is not None
        screen._stop_autosave()
        assert screen._autosave is None
        await pilot.press("b")
        assert len(made) == 4
