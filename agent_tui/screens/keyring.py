"""Before the cache opens: the keyring's own password, and the stop when the cache cannot be
opened.

``KeyringPasswordScreen`` asks for the password of a password-protected keyring
(keyrings.cryptfile) inside the desk, before any secret is read, so the backend never
prompts on the terminal behind Textual. ``CacheStopScreen`` says why the cache cannot open
(no keyring, its key missing or not the file's key) and what to do; the desk cannot work
without its cache, so it offers only Ctrl+Q.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from agent_tui import i18n
from agent_tui.i18n import t
from agent_tui.screens.base import when_composed
from offline_cache.errors import CacheError


class KeyringPasswordScreen(ModalScreen[bool]):
    """The keyring's password (twice for a new keyring). Dismissed with True once the
    backend accepted it; a wrong one is said and asked again, nothing touched."""

    def __init__(self, backend: Any, *, new: bool) -> None:
        super().__init__()
        self.backend = backend
        self.new = new

    def compose(self) -> ComposeResult:
        kind = "new" if self.new else "unlock"
        where = str(getattr(self.backend, "file_path", "") or type(self.backend).__name__)
        with Vertical(classes="dialog", id="keyring-dialog"):
            yield Label(t(f"keyring.{kind}.title"), classes="dialog-title")
            yield Static(Text(t(f"keyring.{kind}.why", where=where)), id="keyring-why")
            yield Label(t("keyring.password"))
            yield Input(password=True, id="keyring-password")
            if self.new:
                yield Label(t("keyring.confirm"))
                yield Input(password=True, id="keyring-confirm")
            yield Label("", id="keyring-error", classes="error")
            yield Label(t("keyring.quit_hint"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#keyring-password", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        password = self.query_one("#keyring-password", Input).value
        if not password.strip():
            self._say(t("keyring.blank"), "#keyring-password")
            return
        if self.new:
            confirm = self.query_one("#keyring-confirm", Input)
            if event.input.id == "keyring-password" and not confirm.value:
                confirm.focus()
                return
            if confirm.value != password:
                self._say(t("keyring.differ"), "#keyring-password")
                return
        for field in self.query(Input):
            field.disabled = True
        self.query_one("#keyring-error", Label).update(t("keyring.working"))
        self._unlock(password)

    @work(thread=True, exclusive=True, group="keyring", exit_on_error=False)
    def _unlock(self, password: str) -> None:
        """Argon2 takes a good part of a second: off the UI loop."""
        try:
            self.app.desk.unlock_keyring(self.backend, password)  # type: ignore[attr-defined]
        except CacheError as exc:
            self.app.call_from_thread(self._refused, exc.message(i18n.language()))
            return
        self.app.call_from_thread(self.dismiss, True)

    @when_composed
    def _refused(self, message: str) -> None:
        for field in self.query(Input):
            field.disabled = False
        self._say(message, "#keyring-password")

    def _say(self, message: str, focus: str) -> None:
        self.query_one("#keyring-error", Label).update(Text(message))
        for field in self.query(Input):
            field.value = ""
        self.query_one(focus, Input).focus()


class CacheStopScreen(ModalScreen[None]):
    """Why the cache cannot open and what to do; only Ctrl+Q leaves it."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="cache-stop"):
            yield Label(t("cache.stop.title"), classes="dialog-title")
            yield Static(Text(self.message), id="cache-stop-message")
            yield Label(t("cache.stop.hint"), classes="hint")
