"""`agent-tui demo --as lead` opens the lead panel signed in as the demo lead; `--keep` leaves
the demo's directory and its hotline.db behind and prints where. The desk runs headless
(Textual's test driver) on a real demo world; the world is smaller and calmer than the
newcomer's (fewer tickets, no simulator) so the test stays light."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_tui.demo import run as demo_run
from agent_tui.demo.desk import DemoDeskApp
from agent_tui.demo.embedded import Children, EmbeddedServer
from agent_tui.demo.world import DemoWorld, control_path

WAIT_SECONDS = 60.0


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run the demo's desk headless: wait until it is signed in, note what it shows, quit."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(demo_run, "DemoWorld", partial(DemoWorld, tickets=20, simulate=False))

    async def drive(app: DemoDeskApp) -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            deadline = time.monotonic() + WAIT_SECONDS
            for _ in range(10_000):
                mode_ok = app.settings.mode != "lead" or app.current_mode == "lead"
                if (app.status.user and mode_ok) or time.monotonic() > deadline:
                    break
                await pilot.pause(0.1)
            if app.settings.mode == "agent":  # the demo phone's first call reaches intake
                for _ in range(10_000):  # it waits in the incoming strip
                    if app.incoming is not None or time.monotonic() > deadline:
                        break
                    await pilot.pause(0.1)
                await pilot.press("alt+p")  # app.accept_call
                for _ in range(10_000):
                    values = getattr(app.screen, "values", dict)()
                    if values.get("phone") or time.monotonic() > deadline:
                        break
                    await pilot.pause(0.1)
                seen["offered_number"] = getattr(app.screen, "values", dict)().get("phone")
                await pilot.pause(1.0)  # the caller lookup, before quitting
            seen.update(
                user=app.status.user,
                role=app.role,
                mode=app.current_mode,
                settings_mode=app.settings.mode,
                workdir=app.demo_world.workdir,  # type: ignore[union-attr]
                accounts=app.demo_world.accounts,  # type: ignore[union-attr]
                seeded_numbers=app.demo_world.seeded_numbers,  # type: ignore[union-attr]
                control_file=control_path().is_file(),
            )

    def headless_run(self: DemoDeskApp, *args: object, **kwargs: object) -> None:
        asyncio.run(drive(self))

    monkeypatch.setattr(DemoDeskApp, "run", headless_run)
    return seen


def test_as_lead_opens_the_lead_panel_signed_in_as_the_lead(
    seen: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_run.run_demo(role="lead", keep=False, lang="en") == 0
    assert seen["settings_mode"] == "lead"
    assert seen["user"] == "lead" and seen["role"] == "lead"
    assert seen["mode"] == "lead"
    assert seen["control_file"]
    workdir: Path = seen["workdir"]
    assert not workdir.exists()
    assert not control_path().exists()
    err = capsys.readouterr().err
    assert "demo user lead (lead) password:" in err
    assert "kept in" not in err


def test_keep_leaves_the_database_and_prints_its_path(
    seen: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_run.run_demo(role="agent", keep=True, lang="en") == 0
    assert seen["user"] == "agent" and seen["mode"] == "intake"
    assert seen["offered_number"] in seen["seeded_numbers"]
    workdir: Path = seen["workdir"]
    try:
        assert (workdir / "hotline.db").is_file()
        assert f"The demo database is kept in {workdir}" in capsys.readouterr().err
        assert not control_path().exists()  # the demo itself has stopped
        # Another look, as README.md says: `hotline-server serve --database sqlite:///…`
        # over the kept file, and the printed demo password still signs in.
        children = Children()
        server = EmbeddedServer(workdir, children, telephony_token=secrets.token_urlsafe(24))
        try:
            server.start()
            agent = seen["accounts"]["agent"]
            r = httpx.post(
                server.url + "/api/v1/auth/login",
                json={"username": agent.username, "password": agent.password},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            tickets = httpx.get(
                server.url + "/api/v1/tickets",
                params={"limit": 5},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert tickets.status_code == 200, tickets.text
        finally:
            children.stop_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
