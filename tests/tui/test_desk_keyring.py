"""The keyring from the desk: a password-protected keyring (the real keyrings.cryptfile) is
unlocked in a dialog of the desk, never by a prompt hidden behind the screen; each secret is
read once per session; a cache whose key is gone stops the desk with what to do."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

import keyring
import pytest

from agent_tui.screens.keyring import CacheStopScreen, KeyringPasswordScreen
from agent_tui.screens.signin import SignInScreen
from offline_cache import open_cache
from tests.support.keyring_backend import FILE_ENV, FileKeyring, MemoryKeyring
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, screen_text, sign_in, until, until_focused

cryptfile = pytest.importorskip("keyrings.cryptfile.cryptfile")
PASSWORD = "keyring-pw-1"


class CountingCryptFile(cryptfile.CryptFileKeyring):  # type: ignore[misc,name-defined]
    """The real CryptFileKeyring, counting the secrets read from it."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.file_path = str(path)
        self.reads: list[str] = []

    def get_password(self, service: str, username: str) -> Any:
        self.reads.append(username)
        return super().get_password(service, username)


@pytest.fixture
def no_terminal_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend prompting on the terminal (hidden behind Textual) fails the test instead."""

    def refuse(prompt: str = "", stream: Any = None) -> str:
        raise AssertionError(f"the keyring prompted on the terminal: {prompt!r}")

    monkeypatch.setattr(getpass, "getpass", refuse)


def made_keyring(path: Path) -> None:
    """A cryptfile keyring that already exists with PASSWORD (as after a first day)."""
    first = cryptfile.CryptFileKeyring()
    first.file_path = str(path)
    first.keyring_key = PASSWORD


def dialog_error(app: Any) -> str:
    return str(app.screen.query_one("#keyring-error").render())


async def test_cryptfile_password_is_asked_in_the_desk_and_a_wrong_one_retried(
    server: RunningServer, tmp_path: Path, no_terminal_prompt: None
) -> None:
    path = tmp_path / "cryptfile_pass.cfg"
    made_keyring(path)
    before = path.read_bytes()
    backend = CountingCryptFile(path)
    keyring.set_keyring(backend)
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, KeyringPasswordScreen), "the dialog")
        assert "Unlock the keyring" in screen_text(app)
        assert str(path) in str(app.screen.query_one("#keyring-why").render())
        assert app.desk.store is None  # nothing read before the password
        await until_focused(pilot, "keyring-password")
        await pilot.press(*"not-the-password", "enter")
        await until(pilot, lambda: "Wrong keyring password" in dialog_error(app), "the error")
        assert path.read_bytes() == before  # a wrong password touches nothing
        assert isinstance(app.screen, KeyringPasswordScreen)
        await until_focused(pilot, "keyring-password")
        await pilot.press(*PASSWORD, "enter")
        await sign_in(pilot, "agent1")
        await until(pilot, lambda: app.status.link == "online", "the link to come up")
    assert backend.reads.count("cache-key:default") == 1


async def test_a_new_cryptfile_keyring_gets_its_password_twice_in_the_dialog(
    server: RunningServer, tmp_path: Path, no_terminal_prompt: None
) -> None:
    path = tmp_path / "cryptfile_pass.cfg"
    keyring.set_keyring(CountingCryptFile(path))
    app = make_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, KeyringPasswordScreen), "the dialog")
        assert "为新钥匙串设置密码" in screen_text(app)
        await until_focused(pilot, "keyring-password")
        await pilot.press(*PASSWORD, "enter", *"another", "enter")
        await until(pilot, lambda: "不一致" in dialog_error(app), "the mismatch")
        assert not path.exists()
        await until_focused(pilot, "keyring-password")
        await pilot.press(*PASSWORD, "enter", *PASSWORD, "enter")
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
    check = cryptfile.CryptFileKeyring()  # the next start opens it with that password
    check.file_path = str(path)
    check.keyring_key = PASSWORD
    assert check.get_password("agent-tui", "cache-key:default")


async def test_ctrl_q_quits_at_the_keyring_dialog(
    server: RunningServer, tmp_path: Path, no_terminal_prompt: None
) -> None:
    path = tmp_path / "cryptfile_pass.cfg"
    made_keyring(path)
    keyring.set_keyring(CountingCryptFile(path))
    app = make_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, KeyringPasswordScreen), "the dialog")
        await until_focused(pilot, "keyring-password")
        await pilot.press("ctrl+f", "ctrl+o")  # the desk's actions wait for the cache
        assert isinstance(app.screen, KeyringPasswordScreen)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app._exit, "the desk to quit")


def app_clock() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


class CountingKeyring(MemoryKeyring):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.reads.append(username)
        return super().get_password(service, username)


async def test_the_token_is_read_from_the_keyring_once_per_session(
    server: RunningServer,
) -> None:
    backend = CountingKeyring()
    keyring.set_keyring(backend)
    app = make_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "agent1")
        seen: set[Any] = set()

        def rounds() -> bool:
            replicator = app.desk.replicator
            if replicator is not None and replicator.snapshot().last_sync_at is not None:
                seen.add(replicator.snapshot().last_sync_at)
            return len(seen) >= 4

        await until(pilot, rounds, "four sync rounds")
    token_reads = [r for r in backend.reads if r.startswith("token:")]
    assert len(token_reads) <= 1, token_reads


async def test_an_emptied_keyring_stops_the_desk_with_what_to_do(
    server: RunningServer,
) -> None:
    keyring.set_keyring(FileKeyring())
    store = open_cache("default")
    fields = {"phone": "13912345678", "account": "噪音扰民"}
    store.create_ticket(fields, call_started_at=app_clock())
    folder = store.path.parent
    store.close()
    Path(os.environ[FILE_ENV]).write_bytes(b"")  # a crash in the middle of a keyring write
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(110, 40)) as pilot:
        # the stop screen composes after it is pushed: wait for its message widget (bounded)
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, CacheStopScreen) and app.screen.query("#cache-stop-message")
            ),
            "the stop",
        )
        message = str(app.screen.query_one("#cache-stop-message").render())
        assert "the keyring holds no key for it" in message and "Restore" in message
        # the stop screen is drawn a frame after it is pushed: wait for its text (bounded)
        await until(
            pilot, lambda: "The offline cache cannot be opened" in screen_text(app), "its text"
        )
        assert "Traceback" not in screen_text(app)
        assert not any(isinstance(s, SignInScreen) for s in app.screen_stack)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app._exit, "the desk to quit")
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before
