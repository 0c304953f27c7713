"""One row of the intake form: the field's label, its widget, and its message when it has one.

Why a widget of its own and not Label + box + widget: Textual styles and lays out every
widget of a screen at start, and every layout of the screen (a message appearing, a field
shown) walks all of them. The row draws its label itself (``render``: the text in the first
16 cells, where no child sits) and holds the field's widget and, once the field has
something to say, the message line below it: two widgets per field instead of four.

A row whose field is shown only for some answers (``show_if``) and is hidden when the form
opens makes its widget the first time it is shown; until then it keeps the field's value
(the default, a restored draft's answer) so the form reads the same either way.

A shown row can also be made *later* (``later=True``): the intake screen opens with the
widgets of the fields an agent types first and makes the rest right after the first frame
(``IntakeScreen._make_later``), or at once when something reaches one of them first (Tab,
a click, a check that names it). Until then the row keeps its answer, as a hidden row does,
and draws it beside its label as the widget will show it (the text, not the widget's
colours); it is as tall as it will be with its widget, so nothing moves when it comes.

A row without a message line is as tall as its field's widget, and says so (``FIELD_LINES``)
instead of leaving it to ``height: auto``: Textual works an auto height out by laying the
row's children out once more inside every layout of the screen (19 rows of the intake form:
~30% of a layout of the whole screen, at start and whenever a message line comes or goes).
A row showing a message goes back to ``height: auto`` (the message wraps).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.cells import cell_len, set_cell_size
from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message
from textual.visual import visualize
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, TextArea

from agent_tui.cells import fit
from agent_tui.widgets.form_factory import (
    FieldSpec,
    input_placeholder,
    make_widget,
    read_value,
    write_value,
)

_DEFAULT = object()
LABEL_CELLS = 16  # the label column (app.tcss: the row's children sit 16 cells in)
# Lines of a field's widget by kind, as app.tcss and the compact widgets make them (a
# TextArea: `.field-row > TextArea { height: 3 }`; the others are compact, one line).
# tests/tui/test_desk_form_rows.py checks every row against what Textual's auto height gives.
FIELD_LINES = {"textarea": 3}


def label_text(spec: FieldSpec) -> str:
    """The label as the row draws it: right-aligned in 15 cells (cut with an ellipsis by
    terminal cells, never by characters: Chinese takes two), then one space."""
    text = fit(spec.label + (" *" if spec.required else ""), LABEL_CELLS - 1).rstrip()
    return " " * (LABEL_CELLS - 1 - cell_len(text)) + text + " "


class FieldRow(Widget):
    """A form field's row (see the module's docstring)."""

    # Called with (row, typed) when the field's widget says its answer changed; returns
    # whether it took the change. Set by the form's screen (``IntakeScreen._make_rows``).
    answer_changed: Callable[[FieldRow, bool], bool] | None = None

    def __init__(
        self, spec: FieldSpec, value: Any = _DEFAULT, *, shown: bool = True, later: bool = False
    ) -> None:
        """``value``: the answer the field opens with (default: the field's default);
        ``later``: its widget is made by ``ensure_widget``, not now (module docstring)."""
        super().__init__(id=f"row-{spec.id}", classes="field-row")
        self.spec = spec
        self._label = Content(label_text(spec))
        self._value = spec.default if value is _DEFAULT else value  # kept while no widget
        made = shown and not later
        self._widget: Widget | None = make_widget(spec, self._value) if made else None
        self._message: Label | None = None
        self._said: str | None = None  # the message line's text ("": a blank line)
        self._fit(False)
        if not shown:
            self.display = False

    def _fit(self, message: bool) -> None:
        """The row's height: its widget's lines, or ``height: auto`` (app.tcss) while a
        message line shows under the widget (module docstring)."""
        self.styles.height = None if message else FIELD_LINES.get(self.spec.kind, 1)

    def compose(self) -> ComposeResult:
        if self._widget is not None:
            yield self._widget

    def render(self) -> Content:
        if self._widget is None and self.display:  # made later: its answer drawn meanwhile
            return self._label + self._stand_in(self.size.width - LABEL_CELLS)
        return self._label

    def _stand_in(self, width: int) -> Content:
        """The kept answer as the field's widget will show it (its text, not its colours),
        in the cells beside the label where the widget will sit."""
        spec, value = self.spec, self._value
        if width <= 0:
            return Content("")
        if spec.kind == "select":
            label = next((text for text, v in spec.options if str(value) == v), "—")
            return Content(fit(label, width - 2) + "▼")
        if spec.kind == "checkbox":
            return Content(fit(f"▐X▌ {spec.yes_label}", width))
        text = "" if value is None else str(value)
        if spec.kind == "textarea":
            return Content(fit(text.split("\n", 1)[0], width))
        # a one-line field shows what fits, cut without an ellipsis, its last cell kept
        # for the cursor
        if text:
            return Content(set_cell_size(text, width - 1))
        return Content.styled(set_cell_size(input_placeholder(spec), width - 1).rstrip(), "dim")

    # The field's Changed message is handed to the screen here, at the row, instead of
    # bubbling on through the form's four containers to the screen: each hop is a message
    # in another widget's queue (a turn of the loop, its dispatch and idle check) on every
    # key typed. A change the screen does not take (while it rebuilds the form) bubbles on.
    def on_input_changed(self, event: Input.Changed) -> None:
        self._answer(event, typed=True)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._answer(event, typed=True)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._answer(event, typed=False)

    def on_select_changed(self, event: Select.Changed) -> None:
        self._answer(event, typed=False)

    def _answer(self, event: Message, *, typed: bool) -> None:
        handler = self.answer_changed
        if handler is not None and event.control is self._widget and handler(self, typed):
            event.stop()

    def on_click(self) -> None:
        """A click on a row made later whose widget has not come yet: it comes, focused."""
        if self._widget is None and self.display:
            self.ensure_widget().focus()

    def field_widget(self) -> Widget | None:
        """The field's own widget; None while a hidden row has not been shown yet."""
        return self._widget

    @property
    def value(self) -> Any:
        """The answer: what the widget holds, or the kept one while there is no widget."""
        return self._value if self._widget is None else read_value(self._widget)

    @value.setter
    def value(self, value: Any) -> None:
        if self._widget is None:
            self._value = value
            if self.display:
                self.refresh()  # drawn meanwhile (``render``)
        else:
            write_value(self._widget, value)

    def show(self, shown: bool) -> None:
        """Show or hide the row; the first time it is shown its widget is made, holding the
        kept answer, in this row (so the focus order stays the form's order)."""
        if shown and not self.display:  # a row made later (shown) keeps waiting for it
            self.ensure_widget()
        if self.display != shown:
            self.display = shown

    def ensure_widget(self) -> Widget:
        """The field's widget, made now (holding the kept answer) if the row has none yet.
        It is in the row, and in the screen's focus chain, when this returns; its mount
        (styling, first render) follows in its own message queue, before any key or focus
        sent to it."""
        if self._widget is None:
            self._widget = make_widget(self.spec, self._value)
            self.mount(self._widget, before=0)
            self.refresh()  # the label alone from now on
        return self._widget

    def show_error(self, message: str | None, *, settle: bool = False) -> bool:
        """The problem with this field, right below its widget; nothing when it is fine (the
        field's help is its placeholder and tooltip, so an 80x24 terminal still shows the
        form). This runs on every keystroke: an unchanged message is not redrawn, and a
        changed one that takes as many lines as the last (the phone message quotes the
        number being typed) is redrawn without a layout of the whole screen.

        ``settle``: the agent is typing. A change that would move the rows below (a message
        line appearing or going, or changing its height) then waits: the screen calls this
        again without ``settle`` once the keys pause, so a number typed straight through
        never flashes "invalid" at its first digit and costs no layout. A message that
        goes is blanked at once (same height, no layout); its line closes on settling.
        Returns whether a change waits."""
        if message == self._said:
            return False
        label = self._message
        shown = label is not None and label.display
        if label is None or not shown:
            if not message:
                self._said = message
                return False
            if settle:
                return True
            self._said = message
            self._fit(True)
            if label is None:
                label = Label(Content(message), id=f"msg-{self.spec.id}", classes="field-help")
                label.add_class("field-error")
                self._message = label
                self.mount(label)
            else:
                label.update(Content(message))
                label.display = True
            return False
        if not message:
            if settle:
                if self._said:
                    label.update(Content(""), layout=False)  # blank now, closed on settling
                    self._said = ""
                return True
            self._said = message
            label.display = False
            self._fit(False)
            return False
        text = Content(message)  # plain text: a typed "[b]" quoted in it is not markup
        width = label.content_size.width
        same_height = (
            width > 0
            and visualize(label, text).get_height(label.styles, width) == label.content_size.height
        )
        if not same_height and settle:
            return True
        self._said = message
        label.update(text, layout=not same_height)
        return False

    @property
    def has_message(self) -> bool:
        """Whether a message line shows under the field (a blanked one waiting to close too)."""
        return self._message is not None and self._message.display
