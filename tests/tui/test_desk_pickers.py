"""The intake form's pickers make their list (Textual's ``SelectOverlay``) the first time they
open, not when the form mounts, and still open, search and choose as a Select does: by
keyboard, by mouse, a value set before the first open is the highlighted one, new options set
before the first open are the ones listed, and the list is made once."""

from __future__ import annotations

from typing import Any

from textual.widgets import Select
from textual.widgets._select import SelectOverlay

from agent_tui.widgets.desk_select import DrawnCurrent, LightSelect
from agent_tui.widgets.form_factory import write_value
from tests.support.server import free_port
from tests.tui.conftest import make_app, until, until_focused
from tests.tui.test_desk_focus import intake


def overlays(widget: Any) -> list[SelectOverlay]:
    return list(widget.query(SelectOverlay))


async def open_intake(pilot: Any) -> Any:
    screen = await intake(pilot)
    await until(pilot, lambda: screen.focused is not None, "the first field focused")
    return screen


async def test_no_picker_has_its_list_until_it_opens() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_intake(pilot)
        # the pickers of the fields made after the first frame too (IntakeScreen._make_later)
        await until(
            pilot,
            lambda: all(r.field_widget() for r in screen._rows if r.display),
            "the fields made later",
        )
        pickers = list(screen.query(LightSelect))
        assert len(pickers) >= 5  # the form picker and the form's choice fields
        assert overlays(screen) == []
        assert not any(p.overlay_made for p in pickers)
        # the current-value line shows the chosen option without a list behind it
        choice = screen.query_one("#form-choice", LightSelect)
        assert choice.value is not Select.NULL
        shown = str(choice.query_one(DrawnCurrent).render())
        assert shown.startswith(str(choice._options[1][0])[:4])


async def test_keyboard_opens_moves_and_chooses_then_reuses_the_list() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_intake(pilot)
        kind = screen.query_one("#f-kind", LightSelect)
        kind.focus()
        await until_focused(pilot, "f-kind")
        await pilot.press("enter")
        await until(pilot, lambda: kind.expanded, "the list open")
        (overlay,) = overlays(kind)
        await until(pilot, lambda: app.focused is overlay, "the list focused")
        assert overlay.option_count == len(kind._options)
        start = [value for _, value in kind._options].index(kind.value)  # the form's default
        assert start > 0 and overlay.highlighted == start
        await pilot.press("down", "enter")
        await until(pilot, lambda: not kind.expanded, "the choice taken")
        chosen = kind._options[start + 1][1]
        assert kind.value == chosen and screen.values()["kind"] == chosen
        await until_focused(pilot, "f-kind")
        await pilot.press("enter")  # again: the same list, on the chosen option
        await until(pilot, lambda: kind.expanded, "the list open again")
        assert overlays(kind) == [overlay]
        assert overlay.highlighted == start + 1
        await pilot.press("escape")
        await until(pilot, lambda: not kind.expanded, "the list closed")
        assert kind.value == chosen


async def test_a_typed_character_opens_the_list_and_searches_it() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}", lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_intake(pilot)
        district = screen.query_one("#f-district", LightSelect)
        district.focus()
        await until_focused(pilot, "f-district")
        await pilot.press("J", "i", "n")  # typed straight on: open, then search "Jin"
        await until(pilot, lambda: district.expanded, "the list open")
        (overlay,) = overlays(district)
        wanted = next(i for i, (label, _) in enumerate(district._options) if "Jin" in str(label))
        await until(pilot, lambda: overlay.highlighted == wanted, "the search's match")
        await pilot.press("enter")
        await until(pilot, lambda: not district.expanded, "the choice taken")
        assert district.value == district._options[wanted][1]


async def test_mouse_opens_the_list_and_clicks_a_choice() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_intake(pilot)
        district = screen.query_one("#f-district", LightSelect)
        assert await pilot.click(district.query_one(DrawnCurrent))
        await until(pilot, lambda: district.expanded, "the list open")
        (overlay,) = overlays(district)
        await until(pilot, lambda: overlay.region.height > 2, "the list laid out")
        # the option drawn on the list's third line (a compact list has no border)
        index = overlay._lines[2 + overlay.scroll_offset.y][0]
        assert await pilot.click(overlay, offset=(3, 2))
        await until(pilot, lambda: not district.expanded, "the choice taken")
        assert district.value == district._options[index][1]
        assert district.value is not Select.NULL
        assert screen.values()["district"] == district.value


async def test_a_value_and_options_set_before_the_first_open_are_the_lists() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_intake(pilot)
        district = screen.query_one("#f-district", LightSelect)
        write_value(district, "xuhui")  # a restored draft's answer
        assert "徐汇" in str(district.query_one(DrawnCurrent).render())
        district.focus()
        await until_focused(pilot, "f-district")
        await pilot.press("enter")
        await until(pilot, lambda: district.expanded, "the list open")
        (overlay,) = overlays(district)
        assert district._options[overlay.highlighted or 0][1] == "xuhui"
        await pilot.press("escape")
        await until(pilot, lambda: not district.expanded, "the list closed")

        kind = screen.query_one("#f-kind", LightSelect)
        kind.set_options([("甲", "a"), ("乙", "b")])  # as the cache's forms replace them
        assert kind.value is Select.NULL
        kind.focus()
        await until_focused(pilot, "f-kind")
        await pilot.press("enter")
        await until(pilot, lambda: kind.expanded, "the list open")
        (overlay,) = overlays(kind)
        assert overlay.option_count == 3  # the prompt and the two new ones
        assert str(overlay.get_option_at_index(2).prompt) == "乙"
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: kind.value == "b", "the new choice taken")
