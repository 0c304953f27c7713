"""A keystroke in the intake form costs about what it costs in a bare Input (issue 14), and
what the agent sees does not change for it.

- the two Textual methods the desk overrides (``agent_tui/textual_overrides.py``) are still
  the ones it was written against: a Textual upgrade that changes them fails here first;
- a key's frame renders only the widgets on the changed line, and the terminal gets the
  same characters and colours as from Textual's own compositor, key after key;
- the key's binding chain is made once per focused field, and the keymap still moves keys;
- a message line under a field appears or goes once the keys pause: a number typed straight
  through lays out nothing and never flashes "invalid", a number left half typed gets its
  field-named message, and a message that no longer applies is blanked at once.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

import pytest
from textual._compositor import Compositor
from textual.app import App
from textual.binding import BindingsMap
from textual.screen import Screen
from textual.widget import AwaitMount

from agent_tui.screens import intake as intake_module
from agent_tui.screens.intake import IntakeScreen
from agent_tui.textual_overrides import TEXTUAL_SOURCES, LineCompositor
from tests.support.server import free_port
from tests.tui.conftest import make_app, until, until_focused
from tests.tui.test_desk_form_rows import intake
from tests.tui.test_desk_intake import message


async def focus_field(pilot: Any, screen: IntakeScreen, field_id: str) -> Any:
    """The intake field ``field_id``, focused as the agent's next keys will find it."""
    field = screen.query_one(f"#f-{field_id}")
    field.focus()
    await until_focused(pilot, f"f-{field_id}")
    return field


def test_the_overridden_textual_methods_are_the_ones_read() -> None:
    sources = {
        "Compositor._get_renders": inspect.getsource(Compositor._get_renders),
        "Screen._binding_chain": inspect.getsource(Screen._binding_chain.fget),  # type: ignore[attr-defined]
        "Screen._screen_resized": inspect.getsource(Screen._screen_resized),
        "AwaitMount.__await__": inspect.getsource(AwaitMount.__await__),
        "App._get_screen": inspect.getsource(App._get_screen),
    }
    changed = [
        name
        for name, source in sources.items()
        if hashlib.sha256(source.encode()).hexdigest() != TEXTUAL_SOURCES[name]
    ]
    assert not changed, (
        f"Textual changed {changed}: read the new code, check agent_tui/textual_overrides.py"
        " still holds, then update TEXTUAL_SOURCES there"
    )


async def test_a_keys_frame_renders_only_its_line_and_shows_what_textual_would() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        compositor = screen._compositor
        assert isinstance(compositor, LineCompositor)
        field = await focus_field(pilot, screen, "address")
        await pilot.pause(0.3)

        frames: list[tuple[str, str, int, int]] = []
        ours = compositor.render_partial_update

        def both() -> Any:
            """Our partial frame (what the app shows), then Textual's of the same change."""
            dirty = set(compositor._dirty_regions)
            rendered: list[Any] = []
            real = LineCompositor._get_renders

            def counted(self: Any, crop: Any = None) -> Any:
                for item in real(self, crop):
                    rendered.append(item)
                    yield item

            compositor._get_renders = counted.__get__(compositor)  # type: ignore[method-assign]
            update = ours()
            del compositor._get_renders
            if update is None:
                return None
            mine = update.render_segments(app.console)
            widgets = len(compositor.visible_widgets)
            compositor._dirty_regions.update(dirty)
            compositor.__class__ = Compositor  # type: ignore[assignment]  # Textual's own
            try:
                theirs = Compositor.render_partial_update(compositor)
            finally:
                compositor.__class__ = LineCompositor
            assert theirs is not None
            frames.append((mine, theirs.render_segments(app.console), len(rendered), widgets))
            return update

        compositor.render_partial_update = both  # type: ignore[method-assign]
        try:
            await pilot.press(*"徐汇区漕溪北路100号")
            await pilot.pause(0.1)
        finally:
            del compositor.render_partial_update
        assert field.value == "徐汇区漕溪北路100号"  # type: ignore[attr-defined]
        assert frames, "no partial frame was drawn"
        for mine, theirs, _, _ in frames:
            assert mine == theirs  # the same characters, colours and cursor moves
        # the typed line's widgets only, not the ~30 visible ones (other rows, status bar,
        # footer, side panel) ...
        most = max(n for _, _, n, _ in frames)
        widgets = frames[0][3]
        # and of those, not the ones hidden behind the field on every changed line (the
        # screen, the form's containers, the row: 6 on Textual's own widget list, 3 here)
        assert most <= 4 < widgets, (most, widgets)


async def test_the_binding_chain_is_made_once_per_field_and_keys_still_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    applied = [0]
    original = BindingsMap.apply_keymap

    def counted(self: BindingsMap, keymap: Any) -> Any:
        applied[0] += 1
        return original(self, keymap)

    monkeypatch.setattr(BindingsMap, "apply_keymap", counted)
    app = make_app(f"http://127.0.0.1:{free_port()}", keymap="function-keys")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        field = await focus_field(pilot, screen, "caller_name")
        await pilot.press("a")
        await pilot.pause(0.1)
        applied[0] = 0
        await pilot.press(*"bcdefghij")
        assert field.value == "abcdefghij"  # type: ignore[attr-defined]
        assert applied[0] == 0, f"the keymap was applied {applied[0]} times for 9 keys"
        await pilot.press("tab")  # intake.next_field: the chain of the next field
        await until(pilot, lambda: screen.focused is not field, "the next field")
        await pilot.press("a")  # the next field's chain, made for its first key
        assert applied[0] > 0
        # the function-keys map's submit key still runs: the form is refused, every
        # problem shown beside its field
        key = app.key_for("intake.on_spot")
        assert key.startswith("f"), key
        await pilot.press(key)
        await until(pilot, lambda: message(screen, "account") != "", "the account message")


async def test_a_message_line_moves_rows_only_once_the_keys_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a pause the harness's key presses never reach on a loaded machine (0.3 s for an agent)
    monkeypatch.setattr(intake_module, "MESSAGE_SETTLE_SECONDS", 1.5)
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        await focus_field(pilot, screen, "phone")
        await pilot.pause(0.3)
        rows = [row for row in screen._field_rows() if row.display]
        below = rows[[row.spec.id for row in rows].index("phone") + 1]
        top = below.region.y

        # straight through: no message on the way, nothing below moves
        for ch in "13812345678":
            await pilot.press(ch)
            assert below.region.y == top
            assert message(screen, "phone") == ""
        await pilot.pause(1.8)
        assert message(screen, "phone") == "" and below.region.y == top

        # a number left half typed: its message, naming the field, once the keys pause
        await pilot.press(*["backspace"] * 5)
        assert message(screen, "phone") == "" and below.region.y == top
        await until(pilot, lambda: "联系电话" in message(screen, "phone"), "the phone message")
        # its line opens with the layout after it (the next refresh on a loaded machine)
        await until(pilot, lambda: below.region.y > top, "the message line to open")

        # typed right again: the message is blanked at once, its line closes after a pause
        await pilot.press(*"45678")
        assert message(screen, "phone") == ""
        assert below.region.y > top
        await until(pilot, lambda: below.region.y == top, "the message line to close")


async def test_typing_a_field_checks_the_form_once_the_keys_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(intake_module, "MESSAGE_SETTLE_SECONDS", 1.5)
    checks = [0]
    original = intake_module.validate_values

    def counted(*args: Any, **kwargs: Any) -> Any:
        checks[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(intake_module, "validate_values", counted)
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        await focus_field(pilot, screen, "caller_name")
        await pilot.pause(0.3)
        checks[0] = 0
        await pilot.press(*"欧阳小红")
        assert checks[0] == 0, f"{checks[0]} checks of the whole form for 4 keys"
        await until(pilot, lambda: checks[0] > 0, "the check after the pause")
        assert "caller_name" in screen.touched and "caller_name" not in screen.errors
        # a field's own message is checked at every key while it shows
        await focus_field(pilot, screen, "id_card")
        await pilot.press(*"1234")
        await until(pilot, lambda: "18" in message(screen, "id_card"), "the id card message")
        checks[0] = 0
        await pilot.press("5")
        assert checks[0] == 1
        assert message(screen, "id_card")  # still shown, checked against the 5 digits


def test_a_widget_is_hidden_only_when_the_spans_in_front_cover_all_its_columns() -> None:
    from agent_tui.textual_overrides import _covered

    assert _covered([(0, 4), (4, 10)], 2, 10)
    assert _covered([(5, 12), (0, 6)], 0, 12)  # in any order, overlapping
    assert not _covered([(0, 4), (5, 10)], 0, 10)  # a gap at column 4
    assert not _covered([(0, 9)], 0, 10)  # the last column shows
    assert not _covered([(1, 10)], 0, 10)  # the first column shows
    assert not _covered(None, 0, 1)
