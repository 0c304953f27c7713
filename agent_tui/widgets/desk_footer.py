"""The footer of the desk's screens: its keys drawn by one widget, redrawn only when they change.

Textual's ``Footer`` is a container of one ``FooterKey`` widget per key shown (8-16 on the
desk's screens), each composed, styled, laid out and drawn on its own, remounted whenever
the keys change. Every widget of a screen also costs Textual's Pilot (tests, benchmarks) a
callback per press. Here one widget draws the same cells: the keys are laid out as Textual's
footer lays out its ``FooterKey`` widgets (key, description, paddings, margins, groups, the
command palette's key docked right behind its border), and the styles of the parts a key
widget would have come from component classes styled as those widgets are. The keys are
hit-tested by their spans: a click on a key runs it (a dimmed one rings the bell), the key
under the mouse is highlighted and gives its tooltip, as with Textual's footer; keys that do
not fit end where the palette's key begins, as there.

Textual's footer remakes its keys whenever the screen's bindings are updated, which happens
on every focus change (twice: blur, focus), though moving from one form field to the next
changes none of the keys it shows. Here the keys are compared once the screen has settled,
and only a change is drawn: a repaint of this one widget, the same size, no widget made and
no layout of the screen (dimming or undimming the desk's own keys while the cache opens at
start is such a change).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from itertools import groupby
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.reactive import reactive
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget


def shown_keys(screen: Screen[Any]) -> tuple[Any, ...]:
    """What the footer draws for ``screen`` now: its shown bindings (with their state and
    tooltip) and the command palette's key."""
    active = screen.active_bindings
    palette = active.get(screen.app.COMMAND_PALETTE_BINDING)
    keys = tuple(
        (b.key, b.action, b.description, b.key_display, b.group, enabled, tooltip)
        for (_, b, enabled, tooltip) in active.values()
        if b.show
    )
    if palette is None:
        return keys
    return (*keys, (palette.binding.key, palette.binding.action, palette.enabled))


@dataclass(frozen=True)
class FooterKeySpan:
    """One key as drawn: what it shows, what a click on it presses, whether it can run now."""

    key: str
    key_display: str
    description: str
    action: str
    enabled: bool
    tooltip: str
    grouped: bool = False
    palette: bool = False


# A piece of the line: text, the part it is drawn as (a component class's suffix, "" for
# the footer's own background) and the index of the key it belongs to (None: none).
_Run = tuple[str, str, int | None]


class DeskFooter(Widget, can_focus=False):
    """The keys of the screen's bindings, drawn on one line as Textual's ``Footer`` draws
    them (``compact`` and ``show_command_palette`` as there)."""

    ALLOW_SELECT = False
    # The parts of a key, styled as Textual's FooterKey / FooterLabel / KeyGroup style theirs
    # (the same theme variables); "item" is a key's own background, "-hover" the key under
    # the mouse, "-disabled" a key whose action cannot run now.
    DEFAULT_CSS = """
    DeskFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .desk-footer--item { background: $footer-item-background; }
        & > .desk-footer--item-hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        & > .desk-footer--item-disabled { text-style: dim; }
        & > .desk-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .desk-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .desk-footer--label {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .desk-footer--palette-border { color: $foreground 20%; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "desk-footer--item",
        "desk-footer--item-hover",
        "desk-footer--item-disabled",
        "desk-footer--key",
        "desk-footer--description",
        "desk-footer--label",
        "desk-footer--palette-border",
    }

    compact: reactive[bool] = reactive(False)
    """Display in compact style (as Textual's Footer)."""
    show_command_palette: reactive[bool] = reactive(True)
    """Show the key that opens the command palette, on the right."""

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        show_command_palette: bool = True,
        compact: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.set_reactive(DeskFooter.compact, compact)
        self.set_reactive(DeskFooter.show_command_palette, show_command_palette)
        self._drawn: tuple[Any, ...] | None = None  # shown_keys when the keys were made
        self._check_pending = False
        self.keys: list[FooterKeySpan] = []  # in the order drawn, the palette's last
        self._runs: list[_Run] = []  # the line left of the palette's key
        self._spans: list[tuple[int, int, int]] = []  # (start, end, key index) in _runs
        self._palette_runs: list[_Run] = []  # the palette's key, its border first
        self._hover: int | None = None  # index of the key under the mouse

    # ------------------------------------------------------------------ which keys

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return  # as Textual's footer: nothing is redrawn
        # Compared once the screen has settled (after its next refresh), as Textual's own
        # footer recomposes: a focus that passes through a widget on its way (a screen's
        # first focus, then the one its on_mount gives) changes the keys and changes them
        # back, and is no redraw, where comparing at each change made two.
        if not self._check_pending:
            self._check_pending = True
            self.call_after_refresh(self._redraw_if_changed)

    def _redraw_if_changed(self) -> None:
        self._check_pending = False
        if not self.is_attached or not self.app.app_focus:
            return
        if shown_keys(self.screen) != self._drawn:
            self._remake()

    def _make_keys(self) -> None:
        """The keys of the screen's bindings now, laid out as Textual's footer lays out its
        key widgets (margins between siblings collapse, the larger one kept)."""
        screen = self.screen
        self._drawn = shown_keys(screen)
        app = self.app
        active = screen.active_bindings
        keys: list[FooterKeySpan] = []
        # each box of the line: (left margin, right margin, runs)
        boxes: list[tuple[int, int, list[_Run]]] = []
        compact = self.compact

        def key_runs(span: FooterKeySpan, compact_key: bool) -> list[_Run]:
            index = len(keys)
            keys.append(span)
            if not span.description:
                return [(span.key_display, "key", index)]
            if compact_key:
                key_text, description = span.key_display, " " + span.description
            else:
                key_text, description = f" {span.key_display} ", span.description + " "
            return [(key_text, "key", index), (description, "description", index)]

        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        for group, same_group in groupby(by_action.values(), lambda ones: ones[0][0].group):
            actions = list(same_group)
            if group is not None and len(actions) > 1:
                # a KeyGroup of keys without descriptions, then the group's label
                key_margin = (0, 0) if group.compact else (1, 1)
                inner: list[tuple[int, int, list[_Run]]] = []
                for (binding, enabled, tooltip), *_ in actions:
                    span = FooterKeySpan(
                        binding.key,
                        app.get_key_display(binding),
                        "",
                        binding.action,
                        enabled,
                        tooltip or binding.description,
                        grouped=True,
                    )
                    inner.append((*key_margin, key_runs(span, True)))
                runs = _lay_out(inner)
                if group.compact:
                    runs = [(" ", "", None), *runs]  # the group's left padding
                boxes.append((0, 1 if group.compact else 0, runs))
                label = [(group.description, "label", None)]
                boxes.append((0, 0 if compact else 1, label))
            else:
                for (binding, enabled, tooltip), *_ in actions:
                    span = FooterKeySpan(
                        binding.key,
                        app.get_key_display(binding),
                        binding.description,
                        binding.action,
                        enabled,
                        tooltip,
                    )
                    boxes.append((0, 1 if compact else 0, key_runs(span, compact)))
        self._runs = _lay_out(boxes)
        self._spans = []
        x = 0
        for text, _, index in self._runs:
            width = cell_len(text)
            if index is not None:
                if self._spans and self._spans[-1][2] == index and self._spans[-1][1] == x:
                    self._spans[-1] = (self._spans[-1][0], x + width, index)
                else:
                    self._spans.append((x, x + width, index))
            x += width
        self._palette_runs = []
        palette = active.get(app.COMMAND_PALETTE_BINDING)
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE and palette is not None:
            binding = palette.binding
            span = FooterKeySpan(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                palette.enabled,
                binding.tooltip or binding.description,
                palette=True,
            )
            # Textual's palette key stays compact (it is not bound to the footer's setting)
            runs = [("▏", "palette-border", len(keys)), *key_runs(span, True)]
            # its right padding (in a compact footer, the right margin of every key instead)
            runs.append((" ", "", None) if compact else (" ", "item", len(keys) - 1))
            self._palette_runs = runs
        self.keys = keys
        self._hover = None  # the keys are new: none is under the mouse until it moves

    # ------------------------------------------------------------------ drawing

    def watch_compact(self) -> None:
        if self._drawn is not None:
            self._remake()

    def watch_show_command_palette(self) -> None:
        if self._drawn is not None:
            self._remake()

    def _remake(self) -> None:
        """The keys made again and drawn: a repaint of this widget, no layout."""
        if self.is_attached:
            self._set_hover(None)
            self._make_keys()
            self.refresh()

    @property
    def _palette_width(self) -> int:
        return sum(cell_len(text) for text, _, _ in self._palette_runs)

    def render_line(self, y: int) -> Strip:
        if self._drawn is None and self.is_attached and self.app.app_focus:
            self._make_keys()  # the first frame: the screen's bindings as they are now
        width = self.size.width
        styles = _PartStyles(self)
        left = max(0, width - self._palette_width)
        segments = [
            Segment(text, styles.get(part, self._key_state(index)))
            for text, part, index in self._runs
        ]
        strip = Strip(segments).crop_extend(0, left, styles.base)
        palette = [
            Segment(text, styles.get(part, self._key_state(index)))
            for text, part, index in self._palette_runs
        ]
        line = Strip.join([strip, Strip(palette).crop(0, width - left)])
        return line.adjust_cell_length(width, styles.base).simplify()

    def _key_state(self, index: int | None) -> tuple[bool, bool] | None:
        """(under the mouse, dimmed) for the key at ``index``; None for no key."""
        if index is None:
            return None
        return (index == self._hover, not self.keys[index].enabled)

    # ------------------------------------------------------------------ the mouse

    def key_at(self, x: int) -> int | None:
        """The index (in ``keys``) of the key drawn at ``x`` cells from the left edge."""
        left = self.size.width - self._palette_width
        if self._palette_runs and x >= left:
            for text, _, index in self._palette_runs:
                left += cell_len(text)
                if x < left:
                    return index
            return None
        for start, end, index in self._spans:
            if start <= x < end:
                return index
        return None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self.key_at(event.x))

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        index = self.key_at(event.x)
        if index is None:
            return
        key = self.keys[index]
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()

    def _set_hover(self, index: int | None) -> None:
        if index == self._hover:
            return
        self._hover = index
        self.styles.pointer = "default" if index is None else "pointer"
        self.refresh()
        tooltip = self.keys[index].tooltip if index is not None else ""
        self.tooltip = tooltip or None
        if tooltip and self.is_attached:
            # Another key is as another widget under the mouse to Textual's tooltip: its
            # tooltip comes after the app's delay (Textual restarts its timer only when the
            # widget under the mouse changes).
            screen = self.screen
            if screen._tooltip_timer is not None:
                screen._tooltip_timer.stop()
            screen._tooltip_widget = self
            screen._tooltip_timer = screen.set_timer(
                self.app.TOOLTIP_DELAY,
                partial(screen._handle_tooltip_timer, self),
                name="tooltip-timer",
            )


def _lay_out(boxes: list[tuple[int, int, list[_Run]]]) -> list[_Run]:
    """Boxes side by side as Textual's horizontal layout places them: the first one's left
    margin, then between two boxes the larger of their margins, then the last one's right."""
    runs: list[_Run] = []
    previous_right: int | None = None
    for left_margin, right_margin, box in boxes:
        gap = left_margin if previous_right is None else max(previous_right, left_margin)
        if gap:
            runs.append((" " * gap, "", None))
        runs.extend(box)
        previous_right = right_margin
    if previous_right:
        runs.append((" " * previous_right, "", None))
    return runs


class _PartStyles:
    """The Rich styles of the footer's parts in one render, as Textual would give the key
    widgets' parts: the backgrounds of the footer and its ancestors blended under each part's,
    the last colour set, the text styles added up."""

    def __init__(self, footer: DeskFooter) -> None:
        self.footer = footer
        # blank cells (margins, paddings) have a background only, as Textual draws them
        self.base = Style(bgcolor=footer.rich_style.bgcolor)
        self._made: dict[tuple[str, tuple[bool, bool] | None], Style] = {}

    def get(self, part: str, state: tuple[bool, bool] | None) -> Style:
        made = self._made.get((part, state))
        if made is None:
            made = self._made[(part, state)] = self._make(part, state)
        return made

    def _make(self, part: str, state: tuple[bool, bool] | None) -> Style:
        footer = self.footer
        if not part:
            return self.base
        layers: list[Any] = [node.styles for node in reversed(footer.ancestors_with_self)]
        if state is not None:  # a key's own box, under its parts
            names = ["desk-footer--item"]
            hover, dimmed = state
            if hover:
                names.append("desk-footer--item-hover")
            if dimmed:
                names.append("desk-footer--item-disabled")
            layers.append(footer.get_component_styles(*names))
        background, color, style = _blend(layers)
        if part == "item":
            return Style(bgcolor=background.rich_color)
        if part == "palette-border":
            # its colour over the footer's background, whatever the key's own (hovered)
            border = footer.get_component_styles("desk-footer--palette-border").color
            footer_background, _, _ = _blend(layers[:-1])
            return Style.from_color((footer_background + border).rich_color, background.rich_color)
        layers.append(footer.get_component_styles(f"desk-footer--{part}"))
        background, color, style = _blend(layers)
        return style + Style.from_color(
            (background + color).rich_color if (background.a or color.a) else None,
            background.rich_color if background.a else None,
        )


def _blend(layers: list[Any]) -> tuple[Color, Color, Style]:
    """Background, colour and text style of nested styles (outermost first), as a node's
    Rich style is made from its ancestors' in Textual."""
    background = Color(0, 0, 0, 0)
    color = Color(255, 255, 255, 0)
    style = Style()
    opacity = 1.0
    for styles in layers:
        has_rule = styles.has_rule
        opacity *= styles.opacity
        text_background = background
        if has_rule("background"):
            tinted = styles.background.tint(styles.background_tint)
            text_background = background + tinted
            background += tinted.multiply_alpha(opacity)
        if has_rule("color"):
            color = styles.color
        style += styles.text_style
        if has_rule("auto_color") and styles.auto_color:
            color = text_background.get_contrast_text(color.a)
    return background, color, style
