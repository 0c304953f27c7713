"""Small modal dialogs: pick one of a few choices, or type a reason. Keys only, no mouse needed."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from agent_tui.i18n import t


class ChoiceDialog(ModalScreen[str | None]):
    """A titled list; Enter picks, Esc cancels. Digits 1-9 pick directly."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", t("dialog.cancel"), id="dialog.cancel")
    ]

    def __init__(self, title: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self._title = title
        self._choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._title), classes="dialog-title")
            yield OptionList(
                *(
                    Option(Text(f"{i}. {label}"), id=value)  # labels may hold typed text
                    for i, (value, label) in enumerate(self._choices, 1)
                ),
                id="choices",
            )

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.character and event.character.isdigit():
            index = int(event.character) - 1
            if 0 <= index < len(self._choices):
                event.stop()
                self.dismiss(self._choices[index][0])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextDialog(ModalScreen[str | None]):
    """One line of text (a reason); Enter confirms a non-empty text, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", t("dialog.cancel"), id="dialog.cancel")
    ]

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._title), classes="dialog-title")
            yield Input(self._value, id="text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
