"""Fixtures for the desk's Pilot tests: a real server process, the app factory, waiting.

One server per test module (starting one takes a couple of seconds); every test still gets
its own desk home (config, cache, keyring) from the autouse fixtures in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from agent_tui.app import DeskApp, build_app
from agent_tui.config import Settings
from agent_tui.services import DeskServices
from tests.support.server import RunningServer, start_server

USERS = {
    "agent1": ("agent", "pw-agent1"),
    "agent2": ("agent", "pw-agent2"),
    "lead1": ("lead", "pw-lead1"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("desk-server")
    running = start_server(f"sqlite:///{workdir / 'server.db'}", workdir, users=USERS)
    yield running
    running.stop()


def make_app(server_url: str, **settings: Any) -> DeskApp:
    """The app as ``agent-tui`` builds it, with the tests' settings (fast replicator)."""
    chosen = Settings(server=server_url, **settings)
    desk = DeskServices(chosen, sync_options={"pull_interval": 0.5, "backoff_cap": 0.5})
    return build_app(chosen, desk=desk)


async def until(
    pilot: Pilot[Any], check: Callable[[], Any], what: str, seconds: float = 15.0
) -> Any:
    """Wait (bounded) until ``check()`` is truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + seconds
    for _ in range(10_000):
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        await pilot.pause(0.05)
    app = pilot.app
    notes = [n.message for n in getattr(app, "_notifications", [])]
    raise AssertionError(
        f"timed out waiting for {what} (screens {app.screen_stack}, notifications {notes})"
    )


async def until_focused(pilot: Pilot[Any], widget_id: str) -> None:
    """Wait until the widget an agent would type into has the focus (a dialog focuses its
    field in on_mount, which on a loaded machine lands after the dialog is the screen)."""
    await until(
        pilot, lambda: getattr(pilot.app.focused, "id", None) == widget_id, f"focus on {widget_id}"
    )


async def sign_in(pilot: Pilot[Any], username: str = "agent1") -> None:
    """Type user name and password into the sign-in dialog, as an agent would."""
    from agent_tui.screens.signin import SignInScreen

    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
    await until_focused(pilot, "username")
    await pilot.press(*username)
    await pilot.press("tab")
    await pilot.press(*USERS[username][1])
    await pilot.press("enter")
    await until(pilot, lambda: app.status.user == username, f"{username} signed in")


async def run_in_thread(fn: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(fn)


Waiter = Callable[..., Awaitable[Any]]


@pytest.fixture
def desk_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def screen_text(app: Any) -> str:
    """What the terminal shows now, as plain text (what an agent would read)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def accept_restore_offer(pilot: Pilot[Any], app: Any) -> Any:
    """At a start after a form was left behind: wait for the offer to restore it, shown on
    screen, take it (恢复) and return the intake screen it reopened."""
    from agent_tui.screens.dialogs import ChoiceDialog
    from agent_tui.screens.intake import IntakeScreen

    await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the restore offer")
    await until(pilot, lambda: "恢复" in screen_text(app), "the offer on screen")
    await pilot.press("1")  # 恢复
    screen = app.screen_stack[0]
    assert isinstance(screen, IntakeScreen)
    return screen
