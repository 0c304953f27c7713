"""The intake form's later fields: made after the first frame, never missed by the agent.

The screen opens with the widgets of the fields an agent types first (up to the caller's
account) and makes the rest after its first frame, or as soon as something reaches one:
Tab and Shift+Tab, a click on its row, a check that names it. These tests hold the timer
back (``LATER_FIELDS_SECONDS``) so that each of those paths is what makes the fields, and
check what the agent sees: every field reached in the form's order, keys typed right after
the Tab that made a field land in it, an answer set before a field was made shows in it,
a draft holding a later field restores it, and a refused save names the later field and
puts the cursor in it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import agent_tui.screens.intake as intake
from agent_tui.app import build_app
from agent_tui.config import Settings
from agent_tui.screens.intake import IntakeScreen
from agent_tui.services import DeskServices
from hotline.forms import load_forms
from tests.support.server import RunningServer
from tests.tui.conftest import accept_restore_offer, screen_text, sign_in, until
from tests.tui.test_desk_intake import message
from tests.tui.test_desk_start import burst

# the general form's fields as an agent tabs through them (reply_method is shown: a reply
# is needed by default)
ORDER = [f.id for f in load_forms()["general"].fields]


@pytest.fixture
def later_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """The later fields come only when reached (no timer within the test)."""
    monkeypatch.setattr(intake, "LATER_FIELDS_SECONDS", 600.0)


async def _signed_in_once(server: RunningServer, **chosen: Any) -> Settings:
    """A first desk signs in, so the next start signs in silently with the kept token."""
    settings = Settings(server=server.url, **chosen)
    first = build_app(settings, desk=DeskServices(settings))
    async with first.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
    return settings


def _waiting(screen: IntakeScreen) -> list[str]:
    return [r.spec.id for r in screen._rows if r.display and r.field_widget() is None]


async def _intake(pilot: Any) -> IntakeScreen:
    app = pilot.app
    screen = await until(
        pilot, lambda: isinstance(app.screen, IntakeScreen) and app.screen, "the form"
    )
    await until(pilot, lambda: getattr(app.focused, "id", "") == "f-kind", "the first field")
    return screen  # type: ignore[no-any-return]


async def test_the_later_fields_come_after_the_first_frame_without_a_key(
    server: RunningServer,
) -> None:
    settings = await _signed_in_once(server)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _intake(pilot)
        assert ORDER.index("account") + 1 < len(ORDER)
        assert _waiting(screen) == ORDER[ORDER.index("account") + 1 :]  # made later
        await until(
            pilot,
            lambda: all(
                screen.query(f"#f-{f}") and screen.query_one(f"#f-{f}").is_mounted for f in ORDER
            ),
            "every field's widget, no key pressed",
        )
        assert app.focused is screen.query_one("#f-kind")  # the focus stayed where it was


async def test_tab_reaches_every_field_in_order_and_keys_land_in_a_field_it_made(
    server: RunningServer, later_held: None
) -> None:
    settings = await _signed_in_once(server)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _intake(pilot)
        assert _waiting(screen)  # the later fields are not there yet
        # all queued at once, as a fast typist's keys: Tab to the party complained about
        # (a later field), its text, then on to the next field
        respondent = ORDER.index("respondent")
        burst(app, [*["tab"] * respondent, *"某某物业公司", "tab"])
        await until(pilot, lambda: screen.values()["respondent"] == "某某物业公司", "the text")
        assert app.focused is screen.query_one(f"#f-{ORDER[respondent + 1]}")
        await pilot.press("shift+tab")
        assert app.focused is screen.query_one("#f-respondent")
        # from the first field again, one Tab at a time: every field, in the form's order
        screen.query_one("#f-kind").focus()
        await pilot.pause()
        reached = [app.focused.id if app.focused else None]
        for _ in ORDER[1:]:
            await pilot.press("tab")
            reached.append(app.focused.id if app.focused else None)
        assert reached == [f"f-{field}" for field in ORDER]
        assert "某某物业公司" in screen_text(app)


async def test_an_answer_set_before_its_field_came_shows_in_it(
    server: RunningServer, later_held: None
) -> None:
    """An incoming call's number goes to 来电号码 (a later field) as the offer lands."""
    from agent_tui.widgets.incoming import IncomingCall

    settings = await _signed_in_once(server)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _intake(pilot)
        await until(pilot, lambda: app.status.user == "agent1", "the silent sign-in")
        row = screen._row("caller_number")
        assert row.field_widget() is None
        row.value = "13912345678"  # as a draft or a call offer writes it, widget or not
        assert screen.values()["caller_number"] == "13912345678"
        await pilot.click("#row-caller_number", offset=(20, 0))  # the agent clicks the row
        await until(pilot, lambda: getattr(app.focused, "id", "") == "f-caller_number", "focus")
        assert screen.query_one("#f-caller_number").value == "13912345678"  # type: ignore[attr-defined]
        assert "13912345678" in screen_text(app)
        # a call offer onto the form: the caller ID in its field
        screen.take_call(IncomingCall("13800001111", "c-1", datetime.now(UTC)))
        await until(
            pilot, lambda: screen.values().get("caller_number") == "13800001111", "the offer"
        )
        widget = await until(pilot, lambda: screen._row("caller_number").field_widget(), "it")
        assert widget.value == "13800001111"
        await until(pilot, lambda: "13800001111" in screen_text(app), "the number on screen")


async def test_a_restored_draft_shows_the_later_field_it_holds(
    server: RunningServer, later_held: None
) -> None:
    settings = await _signed_in_once(server)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _intake(pilot)
        await until(pilot, lambda: app.status.user == "agent1", "the silent sign-in")
        burst(app, ["tab", *"白骨精", *["tab"] * (ORDER.index("respondent") - 1), *"黑风山"])

        def saved() -> bool:
            draft = app.desk.latest_draft()
            return draft is not None and draft.values.get("respondent") == "黑风山"

        await until(pilot, saved, "the autosave with the later field")
    again = build_app(settings, desk=DeskServices(settings))
    async with again.run_test(size=(120, 40)) as pilot:
        screen = await accept_restore_offer(pilot, again)
        await until(pilot, lambda: screen.values().get("respondent") == "黑风山", "restored")
        widget = await until(pilot, lambda: screen._row("respondent").field_widget(), "field")
        assert widget.value == "黑风山"
        assert screen.values()["caller_name"] == "白骨精"
        await until(pilot, lambda: "黑风山" in screen_text(again), "the later field on screen")


async def test_a_refused_save_names_the_later_field_and_puts_the_cursor_in_it(
    server: RunningServer, later_held: None
) -> None:
    settings = await _signed_in_once(server)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _intake(pilot)
        await until(pilot, lambda: app.status.user == "agent1", "the silent sign-in")
        for field, text in (("phone", "13812345678"), ("account", "路灯不亮")):
            screen.query_one(f"#f-{field}").focus()  # clicked into (a Tab makes them all)
            burst(app, list(text))
            await until(pilot, lambda f=field, x=text: screen.values()[f] == x, field)
        assert _waiting(screen)  # not reached yet
        # a caller ID that is no number, set while its field has no widget (as an offer
        # or a restore writes it)
        screen._row("caller_number").value = "12"
        await pilot.press("ctrl+g")  # save to dispatch: refused
        await until(pilot, lambda: "来电号码" in message(screen, "caller_number"), "the message")
        await until(pilot, lambda: getattr(app.focused, "id", "") == "f-caller_number", "focus")
        assert "来电号码" in screen_text(app)
        await pilot.press(*["backspace"] * 2, *"02162345678")
        await pilot.press("ctrl+g")
        await until(pilot, lambda: bool(screen.last_saved), "the save")


def _form_lines(app: Any) -> list[str]:
    """The screen's text below the status bar (which shows the link coming up)."""
    return screen_text(app).splitlines()[1:]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_field_waiting_for_its_widget_shows_what_the_widget_will(
    server: RunningServer, later_held: None, lang: str
) -> None:
    """Before the later fields' widgets come their rows show the same text the widgets
    will: defaults (a choice's label, the yes box), examples and help, a value set."""
    settings = await _signed_in_once(server, lang=lang)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _intake(pilot)
        await until(pilot, lambda: app.status.user == "agent1", "the silent sign-in")
        screen._row("respondent").value = "花果山物业"
        await pilot.pause(0.1)
        waiting = _waiting(screen)
        assert "reply_method" in waiting and "respondent" in waiting
        before = _form_lines(app)
        assert any("花果山物业" in line for line in before)
        await pilot.press("tab", "shift+tab")  # reached: every field made, focus back
        await until(
            pilot,
            lambda: all(screen.query_one(f"#f-{f}").is_mounted for f in waiting),
            "the later fields",
        )
        await pilot.pause(0.2)
        assert app.focused is screen.query_one("#f-kind")
        assert _form_lines(app) == before
