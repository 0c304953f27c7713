"""Focus is always visible, also in a 256-colour terminal (tmux's default), and keys typed
where the focus is are never silently dropped.

What a 256-colour terminal shows is computed the way it is drawn there: the desk's rendered
cells, each colour reduced to the xterm 256-colour palette (rich's own downgrade)."""

from __future__ import annotations

from typing import Any

from rich.color import ColorSystem
from textual.strip import Strip
from textual.widget import Widget

from hotline.model import TicketFields
from tests.support.server import free_port
from tests.tui.conftest import make_app, run_in_thread, until, until_focused
from tests.tui.test_desk_form_rows import intake
from tests.tui.test_desk_queue import queue_table

Look = tuple[frozenset[Any], frozenset[str]]


def look_256(app: Any, widget: Widget, row: int = 0) -> Look:
    """One line of ``widget`` as a 256-colour terminal draws it: the background colours of
    its cells and the text attributes (bold, reverse, underline) used on it."""
    update = app.screen._compositor.render_update(full=True)
    region = widget.region
    line = Strip.join(list(update.strips[region.y + row]))
    strip = line.crop(region.x, region.x + region.width)
    backgrounds: set[Any] = set()
    attributes: set[str] = set()
    for segment in strip:
        style = segment.style
        if style is None or not segment.text:
            continue
        bg = style.bgcolor.downgrade(ColorSystem.EIGHT_BIT) if style.bgcolor else None
        fg = style.color.downgrade(ColorSystem.EIGHT_BIT) if style.color else None
        if style.reverse:
            bg, fg = fg, bg
        backgrounds.add(bg.number if bg is not None and bg.number is not None else bg)
        for name in ("bold", "reverse", "underline"):
            if getattr(style, name):
                attributes.add(name)
    return frozenset(backgrounds), frozenset(attributes)


async def test_focused_input_and_select_stand_out_in_256_colours() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        for kind, focused_id, other_id in (
            ("input", "f-caller_name", "f-community"),
            ("select", "f-district", "f-kind"),
        ):
            focused, other = screen.query_one(f"#{focused_id}"), screen.query_one(f"#{other_id}")
            focused.focus()
            await until_focused(pilot, focused_id)
            await pilot.pause(0.2)
            shown, plain = look_256(app, focused), look_256(app, other)
            assert shown != plain, f"focused {kind} looks like an unfocused one: {shown}"
            assert shown[0] != plain[0], f"the focused {kind} has no colour of its own"
            assert shown[1] - plain[1], f"the focused {kind} has no bold/reverse/underline"


async def test_typing_into_a_focused_select_opens_it_and_finds_the_choice() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        district = screen.query_one("#f-district")
        district.focus()
        await until_focused(pilot, "f-district")
        await pilot.press("徐")  # the agent types on into the choice field
        await until(pilot, lambda: district.expanded, "the choices to open")
        await pilot.press("enter")
        await until(pilot, lambda: not district.expanded, "the choice taken")
        assert screen.values().get("district") == "xuhui"


async def test_escape_leaves_the_queue_search_and_enter_opens_at_once() -> None:
    from agent_tui.screens.ticket import TicketScreen

    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 30)) as pilot:
        await intake(pilot)
        fields = TicketFields(phone="13800001111", caller_name="马六", account="路灯坏了")
        await run_in_thread(
            lambda: app.desk.store.create_ticket(fields, call_started_at=app.clock())
        )
        await pilot.press("ctrl+o")  # app.queue
        table = await until(pilot, lambda: queue_table(app), "the queue")
        await until(pilot, lambda: table.total == 1 and table.loaded, "the ticket")
        await pilot.press("slash", *"马")  # queue.search
        await until_focused(pilot, "queue-search")
        await pilot.press("escape")
        await until_focused(pilot, "queue")
        assert app.screen.query_one("#queue-search").value == "马"  # the filter stays
        await pilot.press("enter")  # once
        await until(pilot, lambda: isinstance(app.screen, TicketScreen), "the ticket open")
