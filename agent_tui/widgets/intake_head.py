"""The intake form's head line: the form's title at the left, the ticket's provisional
number at the right.

One widget draws both. They were a row and two labels: three widgets that every message
round of the screen visits (Textual's ``Pilot`` waits on each of the screen's widgets twice
per key, and a refresh walks them), for one line of text that changes when the form or the
ticket does. The look is theirs: the title cut at the room the number leaves, the number
with a cell of space either side, the whole line bold on the head's background.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget


class IntakeHead(Widget):
    """Title left, number right, on one line (styles: ``#intake-head`` in app.tcss)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = ""
        self._number = ""

    def show(self, title: str, number: str) -> None:
        """Draw ``title`` and ``number`` (a redraw of this line only, when they changed)."""
        if (title, number) != (self._title, self._number):
            self._title, self._number = title, number
            self.refresh()

    def render(self) -> Text:
        number = f" {self._number} "  # as the number's label drew it: padding 0 1
        room = max(0, self.size.width - cell_len(number))
        line = Text(self._title, no_wrap=True, overflow="crop", end="")
        line.truncate(room, overflow="crop", pad=True)
        line.append(number)
        return line
