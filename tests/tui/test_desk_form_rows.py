"""The intake form's rows stay cheap while the agent types (issue 14), and look the same.

- typing into a field redraws that field: no layout of the whole screen is asked for by the
  field, its row or the footer (Textual's Input asked for one on every key, a reflow of
  every widget of the ~100-widget screen), and a text longer than the field still scrolls
  so the last typed characters show;
- moving from field to field does not rebuild the footer (its keys do not change);
- each row draws its label in the 16 cells left of its widget, cut by terminal cells;
- a field shown only for some answers gets its widget when first shown, keeping its answer;
- every row is as tall as what it holds (its field, and its message line while it shows one),
  though a row without a message gives its height instead of leaving it to Textual.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from textual.screen import Screen
from textual.strip import Strip

from agent_tui.screens.intake import IntakeScreen
from agent_tui.screens.signin import SignInScreen
from agent_tui.widgets.desk_footer import DeskFooter
from agent_tui.widgets.field_row import FieldRow, label_text
from agent_tui.widgets.form_factory import FieldSpec
from tests.support.server import free_port
from tests.tui.conftest import make_app, until, until_focused
from tests.tui.test_desk_intake import message

LONG_ADDRESS = "徐汇区漕溪北路100号B座3单元502室门口的路灯坏了两个星期晚上很黑"


async def intake(pilot: Any, *, later_made: bool = True) -> IntakeScreen:
    """The intake form of a desk working on its cache (no server). ``later_made``: once the
    fields made after the first frame (``IntakeScreen._make_later``) are mounted too, so a
    test that counts what a key lays out or draws does not count their arrival."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
    await pilot.press("escape")  # work on the cache
    screen: IntakeScreen = await until(
        pilot,
        lambda: isinstance(app.screen, IntakeScreen) and app.screen.form is not None and app.screen,
        "the intake form",
    )
    if later_made:
        await until(pilot, lambda: not waiting_rows(screen), "the fields made later")
    return screen


def waiting_rows(screen: IntakeScreen) -> list[FieldRow]:
    """The shown rows whose widgets are still to come, or not yet mounted."""
    return [
        row
        for row in screen.query(FieldRow)
        if row.display and not ((widget := row.field_widget()) and widget.is_mounted)
    ]


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Which widgets asked the screen for a layout (by id, else class name)."""
    asked: Counter[str] = Counter()
    original = Screen._on_layout

    async def noted(self: Screen[Any], message: Any) -> None:
        widget = message.widget
        asked[widget.id or type(widget).__name__] += 1
        await original(self, message)

    monkeypatch.setattr(Screen, "_on_layout", noted)
    yield asked


def line_of(app: Any, widget: Any) -> str:
    """The text the terminal shows on the widget's first line."""
    update = app.screen._compositor.render_update(full=True)
    region = widget.region
    line = Strip.join(list(update.strips[region.y]))
    return line.crop(region.x, region.x + region.width).text


async def test_typing_asks_for_no_layout_and_a_long_answer_scrolls(
    layouts: Counter[str],
) -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await intake(pilot)
        field = screen.query_one("#f-address")
        field.focus()
        await until_focused(pilot, "f-address")
        await pilot.pause(0.2)
        layouts.clear()
        await pilot.press(*LONG_ADDRESS)
        assert field.value == LONG_ADDRESS
        asked = {k: n for k, n in layouts.items() if k in ("f-address", "row-address")}
        assert not asked, f"typing asked for layouts of the whole screen: {asked}"
        assert not [k for k in layouts if "Footer" in k], dict(layouts)
        await pilot.pause(0.1)
        shown = line_of(app, field)
        assert "很黑" in shown, f"the end of the text is not in view: {shown!r}"


async def test_moving_between_fields_keeps_the_footer() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        footer = screen.query_one(DeskFooter)
        await until(pilot, lambda: len(footer.keys) > 3, "the footer's keys")
        await pilot.pause(0.3)
        keys = footer.keys
        for field in ("caller_name", "phone", "address", "account"):
            screen.query_one(f"#f-{field}").focus()
            await until_focused(pilot, f"f-{field}")
            await pilot.pause(0.1)
        assert footer.keys is keys  # the keys made once: nothing made again
        assert "^s" in line_of(app, footer) or "ctrl" in line_of(app, footer).lower()


def test_a_label_is_cut_and_aligned_by_terminal_cells() -> None:
    def spec(label: str, required: bool = False) -> FieldSpec:
        return FieldSpec(id="x", type="text", kind="input", label=label, required=required)

    assert label_text(spec("地址")) == " " * 11 + "地址" + " "
    assert label_text(spec("联系电话", required=True)) == " " * 5 + "联系电话 *" + " "
    long = label_text(spec("是否紧急（涉及生命健康）"))
    assert long == "是否紧急（涉及…" + " "  # 15 cells of text: a 2-cell character is never cut
    assert label_text(spec("Urgent (life or health at risk)")) == "Urgent (life o… "


async def test_a_field_shown_only_for_an_answer_is_made_when_first_shown() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}", lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        await screen._use_form("urgent_medical")
        row = screen.query_one("#row-bite_time", FieldRow)
        assert not row.display
        assert not screen.query("#f-bite_time")  # no widget for a field nobody sees yet
        assert "bite_time" in screen.values()  # its answer is still part of the form
        screen.query_one("#f-urgent_subcategory").value = "rabies_vaccine"
        await until(pilot, lambda: row.display, "the bite-time field")
        field = screen.query_one("#f-bite_time")
        field.focus()
        await until_focused(pilot, "f-bite_time")
        await pilot.press(*"2026-03-15 14:30")
        assert screen.values()["bite_time"] == "2026-03-15 14:30"
        assert line_of(app, row).startswith("Time of the bi… 2026-03-15 14:30")


def misfits(screen: IntakeScreen) -> dict[str, tuple[int, int]]:
    """Rows whose height differs from the lines of what they show: {id: (row, content)}."""
    found = {}
    for row in screen.query(FieldRow):
        if not row.display:
            continue
        content = sum(child.outer_size.height for child in row.children if child.display)
        if row.outer_size.height != content or content == 0:
            found[row.spec.id] = (row.outer_size.height, content)
    return found


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_every_row_is_as_tall_as_its_field_and_message(size: tuple[int, int]) -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=size) as pilot:
        screen = await intake(pilot, later_made=False)
        # a row whose widget comes after the first frame is already as tall as it will be
        waiting = waiting_rows(screen)
        heights = {r.spec.id: r.outer_size.height for r in waiting}
        await until(pilot, lambda: not waiting_rows(screen), "the fields made later")
        await pilot.pause(0.2)
        assert not misfits(screen)
        assert heights == {r.spec.id: r.outer_size.height for r in waiting}
        assert screen.query_one("#row-account").outer_size.height == 3  # a TextArea

        field = screen.query_one("#f-phone")
        field.focus()
        await until_focused(pilot, "f-phone")
        await pilot.press(*"12345")
        await until(pilot, lambda: message(screen, "phone"), "the phone message")
        await pilot.pause(0.1)
        row = screen.query_one("#row-phone", FieldRow)
        assert row.outer_size.height >= 2  # the field and its message below it
        assert not misfits(screen)

        await pilot.press(*["backspace"] * 5, *"13812345678")
        await until(pilot, lambda: message(screen, "phone") == "", "the phone message to go")
        await pilot.pause(0.4)  # the message line closes once the keys pause
        assert row.outer_size.height == 1
        assert not misfits(screen)

        await screen._use_form("urgent_medical")  # date and time fields, conditional ones
        screen.query_one("#f-urgent_subcategory").value = "rabies_vaccine"
        await until(pilot, lambda: screen.query_one("#row-bite_time").display, "bite time")
        await pilot.pause(0.2)
        assert not misfits(screen)
