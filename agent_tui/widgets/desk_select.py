"""The form's choice fields: Textual's Select with a current-value line that draws itself.

Textual's ``SelectCurrent`` holds three Statics (the label, a down and an up arrow, one of
them hidden): on the intake form's seven pickers that was 21 of its ~100 widgets, each styled
and laid out at start and on every layout of the screen. ``DrawnCurrent`` draws the same line
(the label, dimmed while nothing is chosen, and the arrow) itself; ``DeskSelect`` also opens
on a typed character.

``LightSelect`` also makes its list (a ``SelectOverlay``, an ``OptionList``) the first time it
opens, not when it mounts: a closed picker never shows it, and the lists of the intake
form's pickers (seven at start) were as many widgets with component classes to style before
the first frame (almost a third of the screen's ``Stylesheet.apply`` calls). Until then the
options live in the Select's own ``_options``, as they always do, and the value is checked
against them.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.style import Style
from textual.timer import Timer
from textual.widgets import Select
from textual.widgets._select import SelectCurrent, SelectOverlay

ARROW_DOWN = " ▼"
ARROW_UP = " ▲"


class DrawnCurrent(SelectCurrent):
    """The chosen option (or the prompt) and the arrow, in one widget."""

    def compose(self) -> ComposeResult:
        yield from ()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1  # one line, as the label Static made it (a Horizontal with no children: 0)

    def _watch_has_value(self, has_value: bool) -> None:
        # Textual's class colours the label Static this line does not have (render dims
        # the prompt itself): kept for selectors, without restyling the line for it
        self.set_class(has_value, "-has-value", update=False)
        self.refresh()

    def update(self, label: Any) -> None:
        self.label = label
        self.has_value = label is not Select.NULL
        self.refresh()

    def render(self) -> Content:
        _, _, background, color = self.colors
        dim = Style(foreground=background + color.multiply_alpha(0.5))  # $foreground 50%
        label = self.placeholder if self.label is Select.NULL else self.label
        if isinstance(label, Content):
            text = label
        elif isinstance(label, Text):
            text = Content.from_rich_text(label)
        else:
            text = Content.from_markup(str(label))  # what the label Static showed
        if not self.has_value:
            text = text.stylize(dim)
        room = max(0, self.content_size.width - len(ARROW_DOWN))
        text = text.truncate(room, ellipsis=True, pad=True)
        expanded = isinstance(self.parent, Select) and self.parent.expanded
        return text + Content.styled(ARROW_UP if expanded else ARROW_DOWN, dim)


class LazyOverlay(SelectOverlay):
    """Textual's list of a Select, ready for keys and focus the moment it is made.

    Textual makes the search's reset timer in ``on_mount``; a list made on the first open
    may get the focus and the key that opened it before its mount has run, so a timer is
    made here too (a ``Timer`` does nothing until started). On mount this one stops and
    Textual's own takes over, started if the list already has the focus."""

    def __init__(self, type_to_search: bool = True) -> None:
        super().__init__(type_to_search=type_to_search)
        self._search_reset_timer = Timer(self, self._search_reset_delay, callback=self._reset)

    def _reset(self) -> None:
        self._search_query = ""

    def on_mount(self) -> None:
        # runs before SelectOverlay.on_mount (the MRO's order), which replaces the timer
        self._search_reset_timer.stop()
        self.call_next(self._start_if_focused)

    def _start_if_focused(self) -> None:
        if self.has_focus:
            self._search_reset_timer._start()


class LightSelect(Select[Any]):
    """A Select whose current-value line is one widget (``DrawnCurrent``) and whose list is
    made when it first opens (see the module's docstring)."""

    def compose(self) -> ComposeResult:
        yield DrawnCurrent(self.prompt)

    @property
    def overlay_made(self) -> bool:
        """Whether the list exists (the picker has been opened once)."""
        return bool(self.query_children(SelectOverlay))

    def _overlay(self) -> SelectOverlay:
        """The list, made (with the options and the current value highlighted) if needed."""
        try:
            return self.query_one(SelectOverlay)
        except NoMatches:
            pass
        overlay = LazyOverlay(type_to_search=self._type_to_search)
        overlay.compact = self.compact  # and kept so (_watch_compact): Select's data_bind
        self.mount(overlay)  # in the DOM now (queries find it); mounted on the next turns
        self._setup_options_renderables()
        for index, (_prompt, value) in enumerate(self._options):
            if value == self.value and value is not Select.NULL:
                overlay.highlighted = index
                break
        return overlay

    def _watch_compact(self, compact: bool) -> None:
        for overlay in self.query_children(SelectOverlay):
            overlay.compact = compact

    def _setup_options_renderables(self) -> None:
        if self.query_children(SelectOverlay):  # else made from _options when first opened
            super()._setup_options_renderables()

    def _watch_value(self, value: Any) -> None:
        if self.query_children(SelectOverlay):
            super()._watch_value(value)
            return
        # Select's own watcher without the list: the current line and the Changed message
        self._value = value
        try:
            current = self.query_one(SelectCurrent)
        except NoMatches:
            return
        if value == self.NULL:
            current.update(self.NULL)
        else:
            for prompt, option in self._options:
                if option == value:
                    current.update(prompt)
                    break
        self.post_message(self.Changed(self, value))

    def _watch_prompt(self, prompt: str) -> None:
        if self.query_children(SelectOverlay) or not self.is_mounted:
            super()._watch_prompt(prompt)
            return
        current = self.query_one(SelectCurrent)
        current.placeholder = prompt
        if self._allow_blank and self.value == self.NULL:
            current.update(self.NULL)

    def _watch_expanded(self, expanded: bool) -> None:
        if expanded:
            self._overlay()
        super()._watch_expanded(expanded)
        for current in self.query(DrawnCurrent):
            current.refresh()  # the arrow turns

    def action_show_overlay(self) -> None:
        self._overlay()
        super().action_show_overlay()


class DeskSelect(LightSelect):
    """A Select that a typed character opens, searching its choices with that character
    ("徐" finds 徐汇区). A closed Select has no use for letters, so without this an agent
    typing on into a choice field would see the keys silently dropped."""

    def on_key(self, event: events.Key) -> None:
        if self.expanded or not event.is_printable or not event.character:
            return
        if event.character == " ":  # space opens the list itself (Select's own binding)
            return
        event.stop()
        event.prevent_default()
        self.expanded = True
        overlay = self._overlay()
        overlay.post_message(events.Key(event.key, event.character))
