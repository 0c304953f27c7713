"""The lead's export in the demo lands in the user's own data dir and outlives the demo (the
demo's home is a temporary directory, deleted on exit with everything in it)."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from agent_tui.demo import run as demo_run
from agent_tui.demo.desk import DemoDeskApp
from agent_tui.demo.world import DemoWorld
from agent_tui.lead import LeadPanelScreen
from offline_cache.locations import locations

WAIT_SECONDS = 60.0


def test_the_demo_lead_exports_into_the_users_data_dir(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user_data = locations().data_dir  # the test's own AGENT_TUI_HOME: "the user's"
    seen: dict[str, Any] = {}
    monkeypatch.setattr(demo_run, "DemoWorld", partial(DemoWorld, tickets=20, simulate=False))

    async def drive(app: DemoDeskApp) -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            deadline = time.monotonic() + WAIT_SECONDS
            for _ in range(10_000):
                screen = app.screen
                if isinstance(screen, LeadPanelScreen) and screen.refresh_count:
                    break
                assert time.monotonic() < deadline, "the lead panel never loaded"
                await pilot.pause(0.1)
            await pilot.press("x")
            for _ in range(10_000):
                if screen.last_export is not None or time.monotonic() > deadline:
                    break
                await pilot.pause(0.1)
            seen.update(
                path=screen.last_export,
                said=screen.status_text,
                workdir=app.demo_world.workdir,  # type: ignore[union-attr]
            )

    def headless_run(self: DemoDeskApp, *args: object, **kwargs: object) -> None:
        asyncio.run(drive(self))

    monkeypatch.setattr(DemoDeskApp, "run", headless_run)
    assert demo_run.run_demo(role="lead", keep=False, lang="zh") == 0
    path: Path = seen["path"]
    assert path is not None, seen["said"]
    assert path.parent == user_data / "exports"
    assert str(path) in seen["said"] and "日报已导出" in seen["said"]
    assert not seen["workdir"].exists()  # the demo is gone ...
    assert path.is_file() and path.read_bytes().startswith(b"date,")  # ... the report is not
