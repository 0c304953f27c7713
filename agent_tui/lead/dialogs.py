"""Small dialogs of the lead panel: a required text (escalation reason, new assignee) and a
read-only ticket view. Each returns its answer with ``dismiss`` (Textual's ModalScreen[T])."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from agent_tui.i18n import t


class TextPrompt(ModalScreen[str | None]):
    """Ask for one non-empty line; ``None`` when cancelled."""

    CSS_PATH = "lead.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", show=False, id="lead.dialog_cancel")
    ]

    def __init__(self, title: str, prompt: str, initial: str = "") -> None:
        super().__init__(classes="lead-dialog")
        self._title = title
        self._prompt = prompt
        self._initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title")
            yield Label(self._prompt)
            yield Input(value=self._initial, id="prompt-input")
            yield Static("", id="prompt-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("lead.dialog.ok"), id="ok", variant="primary")
                yield Button(t("lead.dialog.cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        value = self.query_one(Input).value.strip()
        if not value:
            self.query_one("#prompt-error", Static).update(t("lead.dialog.required"))
            return
        self.dismiss(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


DETAIL_FIELDS = (
    "number",
    "status",
    "urgency",
    "urgent_subcategory",
    "category",
    "kind",
    "district",
    "community",
    "caller_name",
    "phone",
    "address",
    "account",
    "handling_unit",
    "promise",
    "escalation_level",
    "overdue",
    "assignee",
    "created_by",
    "call_started_at",
    "revision",
)


class TicketView(ModalScreen[None]):
    """The ticket as the server holds it, read-only (the desk owns editing)."""

    CSS_PATH = "lead.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", show=False, id="lead.dialog_close")
    ]

    def __init__(self, ticket: dict[str, Any], label: str) -> None:
        super().__init__(classes="lead-dialog")
        self._ticket = ticket
        self._label = label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box wide"):
            yield Label(t("lead.detail.title", ticket=self._label), classes="dialog-title")
            with VerticalScroll():
                for name in DETAIL_FIELDS:
                    value = self._ticket.get(name)
                    if value not in (None, ""):
                        yield Static(f"{name}: {value}", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("lead.detail.close"), id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
