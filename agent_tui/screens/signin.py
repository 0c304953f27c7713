"""Sign in: user name and password; the token goes to keyring (offline_cache.credentials).

Esc closes the dialog and the desk works on the cache, offline: an unreachable server must
never stand between an agent and the calls they are taking.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label

from agent_tui.i18n import t
from agent_tui.screens.base import install_bindings
from agent_tui.services import SignInFailed, Unreachable, UserInfo


class SignInScreen(ModalScreen[UserInfo | None]):
    SCOPE = "signin"

    def __init__(self, server: str, username: str = "") -> None:
        super().__init__()
        install_bindings(self, self.SCOPE)
        self.server = server
        self.username = username

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="signin"):
            yield Label(t("signin.title", server=self.server), classes="dialog-title")
            yield Label(t("signin.username"))
            yield Input(self.username, id="username")
            yield Label(t("signin.password"))
            yield Input(password=True, id="password")
            yield Label("", id="signin-error", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#password" if self.username else "#username", Input).focus()

    def action_sign_in(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username:
            self.query_one("#username", Input).focus()
            return
        if not password:
            self.query_one("#password", Input).focus()
            return
        self._attempt(username, password)

    @work(exclusive=True, group="signin", exit_on_error=False)
    async def _attempt(self, username: str, password: str) -> None:
        error = self.query_one("#signin-error", Label)
        try:
            user = await self.app.desk.sign_in(username, password)  # type: ignore[attr-defined]
        except Unreachable:
            error.update(t("signin.unreachable"))
            return
        except SignInFailed as exc:
            error.update(t("signin.failed", reason=str(exc)))
            self.query_one("#password", Input).value = ""
            return
        self.notify(t("signin.ok", user=user.display_name or user.username))
        self.dismiss(user)

    def action_work_offline(self) -> None:
        self.dismiss(None)
