"""The desk's footer: one widget that draws and does what Textual's footer of key widgets did.

- every cell of its line (character, colours, bold, dim) is the one Textual's ``Footer``
  draws for the same bindings: plain and compact, with a group of keys, a dimmed key, the
  command palette's key, Chinese and English labels, the mouse over each key, too narrow;
- a click on a key runs its action (a dimmed key's click runs nothing, the bell rings); the
  key under the mouse is highlighted and gives its tooltip;
- the desk's keys are dimmed while its cache opens and undimmed when it has, in the same
  widget (no widget made);
- on the intake screen the footer is one widget, whatever the number of keys it shows
  (Pilot waits on every widget of the screen at each press; Textual's footer was one per key).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.widgets._tooltip import Tooltip

from agent_tui.screens.queue import QueueScreen
from agent_tui.theme import THEMES
from agent_tui.widgets.desk_footer import DeskFooter
from tests.support.server import free_port
from tests.tui.conftest import make_app, until
from tests.tui.test_desk_form_rows import intake

Cell = tuple[str, Any]

GROUP = Binding.Group("移动")
GROUP_COMPACT = Binding.Group("翻页", compact=True)


def row_cells(app: Any, y: int = -1) -> list[Cell]:
    """The characters and styles (colour, background, bold, dim) of one line of the screen
    as the terminal shows it."""
    cells: list[Cell] = []
    for segment in app.screen._compositor.render_strips()[y]:
        style = segment.style
        look = None
        if style is not None:
            look = (style.color, style.bgcolor, style.bold, style.dim, style.italic)
        cells.extend((char, look) for char in segment.text)
    return cells


class Keys(Screen[None]):
    BINDINGS: ClassVar[list[Any]] = [
        Binding("ctrl+s", "ran('on_spot')", "当场解答"),
        Binding("ctrl+g", "ran('dispatch')", "Dispatch"),
        Binding("f5", "later", "稍后可用", tooltip="缓存打开后可用"),
        Binding("f9", "ran('f9')", "派单"),
        Binding("ctrl+x", "ran('hidden')", "hidden", show=False),
    ]

    def __init__(self, footer: type[Footer] | type[DeskFooter], compact: bool, groups: bool):
        super().__init__()
        self.footer, self.compact, self.groups = footer, compact, groups
        if groups:
            for key, group in (("f6", GROUP), ("f7", GROUP), ("f10", GROUP_COMPACT)):
                self._bindings._add_binding(Binding(key, f"ran('{key}')", key, group=group))
            self._bindings._add_binding(Binding("f11", "ran('f11')", "f11", group=GROUP_COMPACT))

    def compose(self) -> ComposeResult:
        yield Input()
        yield self.footer(compact=self.compact)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "later":
            return None if self.app.waiting else True  # type: ignore[attr-defined]
        return True

    def action_later(self) -> None:
        self.app.ran.append("later")  # type: ignore[attr-defined]

    def action_ran(self, what: str) -> None:
        self.app.ran.append(what)  # type: ignore[attr-defined]


class KeysApp(App[None]):
    TOOLTIP_DELAY = 0.05

    def __init__(
        self,
        footer: type[Footer] | type[DeskFooter],
        compact: bool = False,
        groups: bool = False,
        theme: str = "textual-dark",
    ) -> None:
        super().__init__()
        for desk_theme in THEMES:
            self.register_theme(desk_theme)
        self.theme = theme
        self.ran: list[str] = []
        self.bells = 0
        self.waiting = True
        self.keys_screen = Keys(footer, compact, groups)

    def bell(self) -> None:
        self.bells += 1

    def on_mount(self) -> None:
        self.push_screen(self.keys_screen)


async def looks(
    footer: type[Footer] | type[DeskFooter], width: int, compact: bool, groups: bool, theme: str
) -> dict[str, list[Cell]]:
    """The footer's line: as first drawn, with the dimmed key undimmed, and with the mouse
    over each cell where a key starts (and between keys)."""
    app = KeysApp(footer, compact, groups, theme)
    seen: dict[str, list[Cell]] = {}
    async with app.run_test(size=(width, 5)) as pilot:
        await pilot.pause(0.2)
        seen["first"] = row_cells(app)
        app.waiting = False
        app.screen.refresh_bindings()
        await pilot.pause(0.2)
        seen["undimmed"] = row_cells(app)
        text = "".join(char for char, _ in seen["undimmed"])
        starts = [cell_len(text[:i]) for i in range(1, len(text)) if text[i - 1 : i + 1] == " ^"]
        starts += [cell_len(text[:i]) for i in range(1, len(text)) if text[i - 1 : i + 1] == " f"]
        for x in [0, *starts, width - 1]:
            await pilot.hover(offset=(x, 4))
            await pilot.pause(0.02)
            seen[f"mouse at {x}"] = row_cells(app)
    return seen


@pytest.mark.parametrize(
    ("width", "compact", "groups", "theme"),
    [
        (100, False, False, "desk"),
        (100, True, True, "desk"),
        (100, False, True, "desk-high-contrast"),
        (40, False, False, "desk"),
        (100, False, True, "textual-dark"),
        (100, True, False, "solarized-light"),  # a theme with footer colours of its own
    ],
)
async def test_the_footer_looks_as_textuals(
    width: int, compact: bool, groups: bool, theme: str
) -> None:
    textuals = await looks(Footer, width, compact, groups, theme)
    ours = await looks(DeskFooter, width, compact, groups, theme)
    assert ours.keys() == textuals.keys()
    for state, cells in textuals.items():
        assert ours[state] == cells, state


async def test_a_click_on_a_key_runs_it_and_a_dimmed_key_rings_the_bell() -> None:
    app = KeysApp(DeskFooter)
    async with app.run_test(size=(100, 5)) as pilot:
        await pilot.pause(0.1)
        await pilot.click(DeskFooter, offset=(cell_x(app, "^g"), 0))
        await until(pilot, lambda: app.ran == ["dispatch"], "the key's action")
        await pilot.click(DeskFooter, offset=(cell_x(app, "派单"), 0))  # its description
        await until(pilot, lambda: app.ran == ["dispatch", "f9"], "the key's action")
        await pilot.click(DeskFooter, offset=(cell_x(app, "f5"), 0))  # dimmed: not now
        await pilot.pause(0.1)
        assert app.ran == ["dispatch", "f9"] and app.bells == 1
        app.waiting = False
        app.screen.refresh_bindings()
        await pilot.pause(0.1)
        await pilot.click(DeskFooter, offset=(cell_x(app, "f5"), 0))
        await until(pilot, lambda: app.ran[-1:] == ["later"], "the key's action")
        assert app.bells == 1


def label_cells(app: Any, label: str) -> list[Cell]:
    """The cells of ``label`` on the footer's line (the screen's last)."""
    cells = row_cells(app)
    text = "".join(char for char, _ in cells)
    assert label in text, text
    start = text.index(label)
    return cells[start : start + len(label)]


def cell_x(app: Any, label: str) -> int:
    """The cell where ``label`` starts on the footer's line (a CJK character takes two)."""
    text = "".join(char for char, _ in row_cells(app))
    assert label in text, text
    return cell_len(text[: text.index(label)])


async def test_the_key_under_the_mouse_is_highlighted_and_gives_its_tooltip() -> None:
    app = KeysApp(DeskFooter)
    async with app.run_test(size=(100, 5), tooltips=True) as pilot:
        await pilot.pause(0.1)
        plain = row_cells(app)
        await pilot.hover(DeskFooter, offset=(cell_x(app, "^g") + 1, 0))
        await pilot.pause(0.05)
        hovered = row_cells(app)
        changed = "".join(
            char for (char, look), (_, was) in zip(hovered, plain, strict=True) if look != was
        )
        assert changed == " ^g Dispatch ", changed  # that key, all of it, and only it
        assert app.screen._pointer_shape == "pointer"
        tooltip = app.screen.query_one(Tooltip)
        await pilot.pause(0.2)
        assert not tooltip.display  # this key has none

        await pilot.hover(DeskFooter, offset=(cell_x(app, "稍后可用"), 0))
        await until(pilot, lambda: tooltip.display, "the key's tooltip")
        assert "缓存打开后可用" in str(tooltip.render())
        assert row_cells(app) != hovered

        await pilot.hover(DeskFooter, offset=(70, 0))  # between the keys and the palette's
        await until(pilot, lambda: not tooltip.display, "no tooltip")
        await pilot.pause(0.05)
        assert row_cells(app) == plain
        assert app.screen._pointer_shape == "default"


async def test_on_the_intake_screen_the_footer_is_one_widget_whose_keys_work() -> None:
    """Textual's footer was a widget per key (8 at 120 columns), each waited on by Pilot
    at every press and styled, laid out and drawn as the desk starts."""
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        footer = screen.query_one(DeskFooter)
        await until(
            pilot, lambda: footer.keys and all(k.enabled for k in footer.keys), "the desk's keys"
        )
        census = list(screen.walk_children())
        assert [w for w in census if w is footer or footer in w.ancestors] == [footer]
        line = "".join(char for char, _ in row_cells(app))
        assert len(footer.keys) >= 6
        for key in footer.keys:
            assert f"{key.key_display} {key.description}" in line, (key, line)

        queue = next(k for k in footer.keys if k.action == "app.open_queue")
        label = f"{queue.key_display} {queue.description}"
        await pilot.click(DeskFooter, offset=(cell_x(app, label) + cell_len(label) - 1, 0))
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), "the queue")
