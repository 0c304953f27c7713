"""`agent-tui demo`: the demo world with the desk (or the lead panel) signed in on top.

The desk talks to the server through the world's link relay, so cutting the link (from
another terminal with `agent-tui demo --cut-link`, or with the demo's key) shows the desk
working offline and catching up afterwards. Everything started here stops when the desk
quits, whatever way it quits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace

from agent_tui.demo.embedded import DemoError
from agent_tui.demo.keys import use_demo_keyring
from agent_tui.demo.world import AGENT, LEAD, DemoWorld
from agent_tui.i18n import t
from offline_cache.locations import locations

DEMO_PROFILE = "demo"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_demo(*, role: str, keep: bool, lang: str, settings_template: object | None = None) -> int:
    """Start the world, sign the chosen demo user in, run the app; return an exit code."""
    from agent_tui.config import Settings
    from agent_tui.demo.desk import DemoDeskApp
    from agent_tui.services import DeskServices

    use_demo_keyring()
    _say(t("demo.starting"))
    try:
        with DemoWorld(keep=keep, lang=lang) as world:
            # The lead's exports go to the user's own data dir, not the demo's home, which
            # is deleted on exit with everything in it.
            export_dir = locations().data_dir / "exports"
            os.environ["AGENT_TUI_HOME"] = str(world.workdir / "home")
            for account in world.accounts.values():
                _say(t("demo.account", user=account.username, password=account.password,
                       role=account.role))  # fmt: skip
            base = settings_template if isinstance(settings_template, Settings) else Settings()
            settings = replace(
                base, server=world.desk_url, lang=lang, mode=role, profile=DEMO_PROFILE
            )
            account = world.accounts[LEAD if role == "lead" else AGENT]
            desk = DeskServices(settings)

            async def sign_in() -> None:
                await desk.open_cache()
                await desk.sign_in(account.username, account.password)

            asyncio.run(sign_in())
            app = DemoDeskApp(settings, desk, world=world)  # app.demo_world: the cut-link key
            app.lead_export_dir = export_dir
            with QuitOnHangup(app.exit):
                app.run()
            if keep:
                _say(t("demo.kept", path=str(world.workdir)))
            for a in world.accounts.values():
                _say(t("demo.account", user=a.username, password=a.password, role=a.role))
    except DemoError as exc:
        _say(t("demo.failed", reason=str(exc)))
        return 1
    return 0


class QuitOnHangup:
    """A closed terminal (SIGHUP) or a plain `kill` (SIGTERM) quits the desk normally, so the
    demo world is stopped and its directory removed, as when the agent presses quit."""

    SIGNALS = (signal.SIGHUP, signal.SIGTERM)

    def __init__(self, quit_app: Callable[[], object]) -> None:
        self.quit_app = quit_app
        self.previous: dict[int, object] = {}

    def __enter__(self) -> None:
        for sig in self.SIGNALS:
            self.previous[sig] = signal.signal(sig, lambda *_: self.quit_app())

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
