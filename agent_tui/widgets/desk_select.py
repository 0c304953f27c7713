"""The form's choice fields: Textual's Select with a current-value line that draws itself.

Textual's ``SelectCurrent`` holds three Statics (the label, a down and an up arrow, one of
them hidden): on the intake form's seven pickers that was 21 of its ~100 widgets, each styled
and laid out at start and on every layout of the screen. ``DrawnCurrent`` draws the same line
(the label, dimmed while nothing is chosen, and the arrow) itself; ``DeskSelect`` also opens
on a typed character.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.geometry import Size
from textual.style import Style
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


class LightSelect(Select[Any]):
    """A Select whose current-value line is one widget (``DrawnCurrent``)."""

    def compose(self) -> ComposeResult:
        yield DrawnCurrent(self.prompt)
        yield SelectOverlay(type_to_search=self._type_to_search).data_bind(compact=Select.compact)

    def _watch_expanded(self, expanded: bool) -> None:
        super()._watch_expanded(expanded)
        for current in self.query(DrawnCurrent):
            current.refresh()  # the arrow turns


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
        overlay = self.query_one(SelectOverlay)
        overlay.post_message(events.Key(event.key, event.character))
