"""What the desk's start does not do twice.

- each widget of the intake form is styled once before the first frame, when it mounts: not
  also while it is being made (Textual's ``compact=True`` argument adds a class in the
  widget's ``__init__``, which restyles it there and then), and the footer is styled once
  (its keys are drawn by it, not widgets of their own);
- the status bar changes its link's colour (a class) with one restyle, not one per class;
- the desk's ANSI colours (asked for by every line drawn) are Textual's for every theme;
- the desk's stylesheet adds a new widget class's CSS to its rules instead of making them all
  again, and its rules and selector map are the ones Textual's full parse makes, at start,
  after other screens' CSS came in and after a theme switch;
- the look stays: the fields are compact, the footer's keys are as compact as the footer,
  the command palette's key keeps its own (the snapshots check the pictures).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.css.stylesheet import Stylesheet
from textual.screen import Screen
from textual.widget import Widget

from agent_tui.app import DeskApp
from agent_tui.config import Settings
from agent_tui.services import DeskServices
from agent_tui.widgets.desk_footer import DeskFooter
from agent_tui.widgets.desk_select import LightSelect
from agent_tui.widgets.form_factory import compact, field_specs, make_widget
from agent_tui.widgets.status_bar import DeskStatus, StatusBar
from hotline.forms import load_shipped_forms


def styled(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """How many times each widget (by id()) is styled from now on."""
    seen: Counter[int] = Counter()
    real = Stylesheet.apply

    def counting(self: Stylesheet, node: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(node, Widget):
            seen[id(node)] += 1
        return real(self, node, *args, **kwargs)

    monkeypatch.setattr(Stylesheet, "apply", counting)
    return seen


class DeskLike(Screen[None]):
    """Shown first without restyling all its widgets again, as the desk's screens are
    (``DeskScreen.on_screen_resume``): the footer draws its keys as it composes, with them."""

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        event.refresh_styles = False


class Form(App[None]):
    """The general form's fields, the form picker and the desk's footer, no focus (a focus
    restyles the focused widget: not what is counted here)."""

    AUTO_FOCUS = None
    BINDINGS: ClassVar[list[Any]] = [("ctrl+s", "save", "保存"), ("f2", "other", "其他")]

    def get_default_screen(self) -> Screen[Any]:
        return DeskLike(id="_default")

    def __init__(self, footer_compact: bool = False) -> None:
        super().__init__()
        self.footer_compact = footer_compact
        self.made: list[Widget] = []
        self.specs: list[Any] = []

    def compose(self) -> ComposeResult:
        form = next(f for f in load_shipped_forms().values() if f.id == "general")
        self.specs = field_specs(form, "zh")
        self.made = [make_widget(spec) for spec in self.specs]
        self.made.append(compact(LightSelect([("一般", "general")], value="general")))
        yield from self.made
        yield DeskFooter(compact=self.footer_compact)


async def test_a_field_is_not_styled_while_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Form()
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        assert len(app.made) >= 10
        kinds = {type(w).__name__ for w in app.made}
        assert {"DeskInput", "TextArea", "DeskSelect", "Checkbox", "LightSelect"} <= kinds
        for widget in app.made:  # mounted: compact, no border
            assert widget.compact and widget.has_class("-textual-compact"), widget
            assert widget.styles.border_top[0] in ("", "none"), widget
        seen = styled(monkeypatch)
        # a checkbox made ticked restyles for its "-on" class (Textual's own, with the Changed
        # message the form reads): unticked here, the compact look is what is counted
        specs = [replace(s, default=False) if s.kind == "checkbox" else s for s in app.specs]
        with app._context():  # as in a screen's compose: the app is there to style it
            more = [make_widget(spec) for spec in specs]
        assert [type(w) for w in more] == [type(w) for w in app.made[:-1]]
        assert all(w.compact and w.has_class("-textual-compact") for w in more)
        assert not seen, f"styled while being made: {len(seen)} widgets"
        box = Vertical()
        await app.mount(box)
        await box.mount_all(more)  # and styled when mounted, once
        await pilot.pause()
        assert all(seen[id(w)] == 1 for w in more), [seen[id(w)] for w in more]
        assert all(w.styles.border_top[0] in ("", "none") for w in more)


@pytest.mark.parametrize("footer_compact", [False, True])
async def test_footer_keys_start_as_compact_as_the_footer(
    monkeypatch: pytest.MonkeyPatch, footer_compact: bool
) -> None:
    seen = styled(monkeypatch)
    app = Form(footer_compact)
    async with app.run_test(size=(100, 60)) as pilot:
        footer = app.query_one(DeskFooter)
        for _ in range(100):
            if len(footer.keys) >= 3:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        line = app.screen._compositor.render_strips()[-1].text
        if footer_compact:
            assert line.startswith("^s 保存 f2 其他 "), line
        else:
            assert line.startswith(" ^s 保存  f2 其他  "), line
        # the command palette's key keeps its own (compact) look, right-aligned
        assert line.rstrip().endswith("▏^p palette"), line
        assert seen[id(footer)] == 1, f"the footer styled {seen[id(footer)]} times"


class Bar(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar()


async def test_the_status_bar_changes_its_link_colour_with_one_restyle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Bar()
    async with app.run_test(size=(100, 5)) as pilot:
        bar = app.query_one(StatusBar)
        await pilot.pause()
        seen = styled(monkeypatch)
        for link, restyles in (
            ("signed_out", 1),
            ("syncing", 1),
            ("syncing", 0),  # the same link: nothing to restyle
            ("online", 1),
            ("unknown", 1),  # no class of its own: the last one goes
            ("offline", 1),
        ):
            seen.clear()
            bar.status = DeskStatus(link=link, user="agent1")
            await pilot.pause()
            links = {c for c in bar.classes if c.startswith("-") and c != "-textual-compact"}
            assert links == ({f"-{link}"} if link != "unknown" else set()), (link, links)
            assert seen[id(bar)] == restyles, (link, seen[id(bar)])


def test_the_desks_ansi_colours_are_textuals_for_every_theme() -> None:
    settings = Settings(server="http://127.0.0.1:9")
    app = DeskApp(settings, DeskServices(settings))
    names = list(app.available_themes)
    assert {"desk", "desk-high-contrast", "textual-light"} <= set(names)
    for name in [*names, "no-such-theme,textual-light"]:
        app._reactive_theme = name  # as set, without Textual's check of the name
        assert app.ansi_theme is App.ansi_theme.fget(app), name  # type: ignore[attr-defined]
    assert app.ansi_theme is app.ansi_theme_light


def rule_key(rule: Any) -> tuple[Any, ...]:
    specificity = tuple(s.specificity for s in rule.selector_set)
    styles = {name: repr(value) for name, value in rule.styles.get_rules().items()}
    return (rule.selectors, styles, rule.is_default_rules, rule.tie_breaker, specificity)


def assert_rules_as_textual_makes_them(app: Any) -> None:
    sheet = app.stylesheet
    fresh = Stylesheet(variables=dict(sheet._variables))
    fresh.source = dict(sheet.source)
    fresh.parse()
    assert [rule_key(r) for r in sheet.rules] == [rule_key(r) for r in fresh.rules]
    ours, theirs = sheet.rules_map, fresh.rules_map
    assert set(ours) == set(theirs)
    for name, rules in theirs.items():
        assert [rule_key(r) for r in ours[name]] == [rule_key(r) for r in rules], name


async def test_new_css_is_added_to_the_rules_as_a_full_parse_would_make_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agent_tui.screens.queue import QueueScreen
    from tests.support.server import free_port
    from tests.tui.conftest import make_app, until
    from tests.tui.test_desk_form_rows import intake

    full = Counter[str]()
    real = Stylesheet.parse

    def counted(self: Stylesheet) -> None:
        full["parses"] += 1
        real(self)

    monkeypatch.setattr(Stylesheet, "parse", counted)
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        await intake(pilot)
        await pilot.pause(0.2)
        sources = len(app.stylesheet.source)
        assert sources >= 15
        assert full["parses"] <= sources // 2, (full, sources)  # Textual: one per new class
        assert_rules_as_textual_makes_them(app)
        app.action_open_queue()
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), "the queue")
        await pilot.pause(0.2)
        assert len(app.stylesheet.source) > sources
        assert_rules_as_textual_makes_them(app)
        app.theme = "desk-high-contrast"
        await pilot.pause(0.2)
        assert_rules_as_textual_makes_them(app)
        assert app.screen.styles.background.hex.upper() == "#000000"


def test_a_source_with_errors_raises_again_on_every_reparse() -> None:
    from textual.css.stylesheet import StylesheetParseError

    from agent_tui.stylesheet import DeskStylesheet

    sheet = DeskStylesheet(variables={"x": "red"})
    sheet.add_source("Label { color: $x; }", read_from=("a", ""))
    sheet.parse()
    sheet.add_source("Label { colour: blue; }", read_from=("b", ""))
    for _ in range(2):
        with pytest.raises(StylesheetParseError):
            sheet.reparse()
    sheet.parse()  # as Textual's: the failed source is left out until the next reparse
    assert [rule.selectors for rule in sheet.rules] == ["Label"]
    with pytest.raises(StylesheetParseError):
        sheet.reparse()


NESTED = """
Select {
    color: red;
    &:focus { color: blue; }
    & > SelectCurrent {
        width: 1fr;
        &.-open { height: 3; }
    }
}
Label.x, #y Static { text-style: bold; }
"""


def test_a_source_is_parsed_once_for_all_its_tie_breakers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rules a source gives for each tie-breaker (nested rules: a multiple of it) are the
    ones Textual's parse gives, from one parse of the source."""
    import textual.css.stylesheet as textual_stylesheet

    from agent_tui.stylesheet import DeskStylesheet

    parsed: list[str] = []
    real = textual_stylesheet.parse

    def counted(scope: str, css: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(css)
        return real(scope, css, *args, **kwargs)

    monkeypatch.setattr(textual_stylesheet, "parse", counted)
    ours = DeskStylesheet(variables={})
    for is_default in (True, False):
        for tie_breaker in (-3, 0, -1, 2, -3, 1):
            theirs = Stylesheet(variables={})._parse_rules(
                NESTED, ("x.py", "Select.DEFAULT_CSS"), is_default, tie_breaker, "Select"
            )
            made = ours._parse_rules(
                NESTED, ("x.py", "Select.DEFAULT_CSS"), is_default, tie_breaker, "Select"
            )
            assert [rule_key(r) for r in made] == [rule_key(r) for r in theirs]
            assert [(r.selector_names, r.pseudo_classes) for r in made] == [
                (r.selector_names, r.pseudo_classes) for r in theirs
            ]
    assert sorted({r.tie_breaker for r in theirs}) == [1, 2, 3]  # nested: 2x and 3x
    # Textual's: 12 parses; ours: one per is_default
    assert parsed.count(NESTED) == 12 + 2


async def test_the_desk_parses_each_css_source_once_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Widget's, Static's, Screen's, Select's... DEFAULT_CSS come with several tie-breakers
    while the intake screen mounts: each is parsed once (Textual: once per tie-breaker); the
    rules are hashed in C."""
    import textual.css.stylesheet as textual_stylesheet

    from tests.support.server import free_port
    from tests.tui.conftest import make_app
    from tests.tui.test_desk_form_rows import intake

    parsed: Counter[Any] = Counter()
    real = textual_stylesheet.parse

    def counted(scope: str, css: str, read_from: Any, *args: Any, **kwargs: Any) -> Any:
        parsed[read_from] += 1
        return real(scope, css, read_from, *args, **kwargs)

    monkeypatch.setattr(textual_stylesheet, "parse", counted)
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        await intake(pilot)
        await pilot.pause(0.2)
        assert parsed, "nothing parsed"
        again = {where: n for where, n in parsed.items() if n > 1}
        assert not again, again
        assert_rules_as_textual_makes_them(app)
        # each rule hashed by identity without a Python call (Textual's: ``return id(self)``)
        hashed = {type(rule).__hash__ for rule in app.stylesheet.rules}
        assert hashed == {object.__hash__}, hashed


def test_the_app_object_works_the_theme_colours_out_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual's ``App.__init__`` works out the CSS variables for its stylesheet; the desk's
    stylesheet takes those instead of working them out again (~1-2 ms of every start): the
    same ones (the theme's own are set when the app starts running)."""
    calls = Counter[str]()
    real = App.get_css_variables

    def counted(self: App[Any]) -> dict[str, str]:
        calls["variables"] += 1
        return real(self)

    monkeypatch.setattr(App, "get_css_variables", counted)
    settings = Settings(server="http://127.0.0.1:9")
    app = DeskApp(settings, DeskServices(settings))
    assert calls["variables"] == 1  # Textual's own, in App.__init__
    assert app.stylesheet._variables == App().stylesheet._variables
