"""Make the README's screenshots (SVG, Textual's own export) from a fresh demo world.

    .venv/bin/python scripts/screenshots.py [--lang zh|en] [--out docs/screenshots]

It starts the same world as `agent-tui demo` (real server, demo data, no simulator so the
pictures are calm), signs the demo agent and the demo lead in, and saves the intake, queue
and lead-panel screens at 160x48. Every wait is bounded; the world is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (160, 48)
SETTLE_SECONDS = 20.0
OFFER_SECONDS = 30.0


async def _settle(pilot, desk, seconds: float = SETTLE_SECONDS) -> None:  # type: ignore[no-untyped-def]
    """Until the desk is online (bounded): the pictures show a connected desk."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and desk.link != "online":
        await pilot.pause(0.2)
    await pilot.pause(0.5)


async def _await_offer(pilot, app) -> None:  # type: ignore[no-untyped-def]
    """Until the demo phone's first call is in the intake with the caller's recent tickets
    beside the form (bounded): the intake picture shows a call, as the README says."""
    deadline = time.monotonic() + OFFER_SECONDS
    while time.monotonic() < deadline and not getattr(app.screen, "_offer_recent", None):
        await pilot.pause(0.2)
    await pilot.pause(2.0)  # the form rebuilt with the number, the caller lookup drawn


async def _shoot(world, lang: str, out: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    from agent_tui.app import build_app
    from agent_tui.config import Settings
    from agent_tui.demo.world import AGENT, LEAD
    from agent_tui.services import DeskServices

    saved: list[Path] = []
    for role, account_name, shots in (
        ("agent", AGENT, (("intake", None), ("queue", "ctrl+o"))),
        ("lead", LEAD, (("lead", None),)),
    ):
        account = world.accounts[account_name]
        settings = replace(
            Settings(), server=world.desk_url, lang=lang, mode=role, profile=f"shots-{role}"
        )
        desk = DeskServices(settings)
        await desk.open_cache()
        await desk.sign_in(account.username, account.password)
        app = build_app(settings, desk=desk)
        async with app.run_test(size=SIZE) as pilot:
            await _settle(pilot, desk)
            await pilot.pause(3.0)  # the first pull and the first panel refresh
            if role == "agent":
                await _await_offer(pilot, app)
            for name, key in shots:
                if key:
                    await pilot.press(key)
                    await pilot.pause(2.0)
                filename = f"{name}.svg" if lang == "zh" else f"{name}-{lang}.svg"
                app.save_screenshot(filename=filename, path=str(out))
                saved.append(out / filename)
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from agent_tui import i18n
    from agent_tui.demo.keys import use_demo_keyring
    from agent_tui.demo.world import DemoWorld

    i18n.set_language(args.lang)
    use_demo_keyring()
    with DemoWorld(simulate=False, lang=args.lang) as world:
        os.environ["AGENT_TUI_HOME"] = str(world.workdir / "home")
        for path in asyncio.run(_shoot(world, args.lang, args.out)):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
