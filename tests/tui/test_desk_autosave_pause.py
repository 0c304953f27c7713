"""The form's autosave waits for the keys to pause, and nothing of it runs while they come.

The draft is saved ``AUTOSAVE_SECONDS`` after the last key. It used to be a Textual timer
that, woken before the pause (a key had moved the moment on), armed itself again for the
rest: while the agent typed, it ran on the UI loop every ``AUTOSAVE_SECONDS``, between the
agent's keys (issue 14: each such run could cost a key one more idle window). Now each key
moves one handle on the loop; the autosave's code runs only once the keys have paused.

What the tests check is what an agent would: the draft holds everything typed once the keys
pause, and a desk killed after that (no clean exit) offers the whole form back at its next
start. Times are compared with each other (a run of the autosave against the key before
it), never with a wall-clock limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent_tui.screens import intake as intake_module
from agent_tui.screens.intake import AUTOSAVE_SECONDS, IntakeScreen
from offline_cache import save_token
from tests.support.server import RunningServer, free_port
from tests.tui.conftest import accept_restore_offer, make_app, run_in_thread, until
from tests.tui.test_desk_form_rows import intake
from tests.tui.test_desk_textual_overrides import focus_field

ROOT = Path(__file__).resolve().parents[2]
TYPED = "上海市黄浦区人民路123号3室甲乙"  # 17 keys: Pilot takes >= 3 idle windows (60 ms) a key


async def test_nothing_of_the_autosave_runs_while_the_keys_come_and_it_saves_after_the_pause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")  # no server: the cache alone
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        await focus_field(pilot, screen, "address")
        await until(pilot, lambda: screen._autosave is None, "the form's opening settled")
        keys: list[float] = []  # when each key reached the form
        runs: list[float] = []  # when the autosave's code ran on the UI loop
        real_changed, real_due = screen._field_changed, screen._autosave_due

        def changed(*args: Any, **kwargs: Any) -> None:
            keys.append(time.monotonic())
            real_changed(*args, **kwargs)

        def due() -> None:
            runs.append(time.monotonic())
            real_due()

        monkeypatch.setattr(screen, "_field_changed", changed)
        monkeypatch.setattr(screen, "_autosave_due", due)
        for ch in TYPED:
            await pilot.press(ch)
        await until(pilot, lambda: screen.values()["address"] == TYPED, "the keys")
        typed_for = keys[-1] - keys[0]
        assert len(keys) == len(TYPED)
        # the keys went on for longer than the autosave's delay (Pilot's idle wait alone
        # makes a press >= 60 ms): the old timer would have woken while they came
        assert typed_for > 2 * AUTOSAVE_SECONDS, typed_for

        def draft_holds_it() -> bool:
            draft = app.desk.latest_draft()
            return draft is not None and draft.values.get("address") == TYPED

        await until(pilot, draft_holds_it, "the draft with everything typed")
        # every run of the autosave came a whole delay after the key before it: none while
        # the keys came, one once they paused
        gaps = [r - max(k for k in keys if k <= r) for r in runs]
        assert runs and all(g >= AUTOSAVE_SECONDS - 0.005 for g in gaps), (gaps, typed_for)
        assert len(runs) == 1 and runs[0] > keys[-1], (runs, keys[-1])
        assert screen.draft_id is not None and screen._autosave is None


async def test_a_key_moves_the_autosave_on_by_its_whole_delay_and_a_stop_cancels_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The save is due AUTOSAVE_SECONDS after the last key (on the loop's own clock), not
    sooner and not later; a submit or a call offer's stash stops it; the next key starts it."""
    monkeypatch.setattr(intake_module, "AUTOSAVE_SECONDS", 30.0)  # not during this test
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        await focus_field(pilot, screen, "address")
        saved: list[str] = []
        monkeypatch.setattr(screen, "_after_typing", lambda: saved.append("x"))
        # the loop's clock just before and just after each key's handling: the key's own
        # time lies between them (a bound, not a tolerance: a loaded machine may pause
        # between the two reads)
        loop_time: list[tuple[float, float]] = []
        real_changed = screen._field_changed

        def changed(*args: Any, **kwargs: Any) -> None:
            before = app._loop.time() if app._loop else 0.0
            real_changed(*args, **kwargs)
            loop_time.append((before, app._loop.time() if app._loop else 0.0))

        monkeypatch.setattr(screen, "_field_changed", changed)
        for ch in "漕溪北路":
            await pilot.press(ch)
            handle = screen._autosave
            assert handle is not None and not handle.cancelled()
            before, after = loop_time[-1]
            assert before + 30.0 <= handle.when() <= after + 30.0  # this key's + delay
        assert saved == []
        screen._stop_autosave()  # a submit or a stash
        assert handle.cancelled() and screen._autosave is None
        await pilot.press("1")
        assert screen._autosave is not None and not screen._autosave.cancelled()
        # when it is due, the save runs in the screen's queue
        screen._autosave.cancel()
        screen._autosave_due()
        await pilot.pause(0)
        assert saved == ["x"] and screen._autosave is None


# A desk in a process of its own: signed in from the keyring, it types into the form, waits
# until the autosave holds it (read from the cache), then is killed (no exit, no unmount).
CHILD = r"""
import asyncio, os, signal, sys, time
from textual.app import App

TYPED = sys.argv[1]

async def until(check, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return False

async def crash(pilot):
    from agent_tui.screens.intake import IntakeScreen
    app = pilot.app
    ready = lambda: (
        isinstance(app.screen, IntakeScreen) and app.screen.form is not None
        and app.status.user == "agent1" and app.screen.query("#f-address")
    )
    if not await until(ready):
        sys.exit(3)
    app.screen.query_one("#f-address").focus()
    await pilot.pause(0.1)
    for ch in TYPED:
        await pilot.press(ch)
    def saved():
        draft = app.desk.latest_draft()
        return draft is not None and draft.values.get("address") == TYPED
    if not await until(saved):
        sys.exit(4)
    print(app.screen.ticket_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

def headless_run(self, *args, **kwargs):
    kwargs.update(headless=True, size=(120, 40), auto_pilot=crash)
    return real_run(self, *args, **kwargs)

real_run = App.run
App.run = headless_run
from agent_tui.cli import main
main(["--server", sys.argv[2]], standalone_mode=False)
"""


async def test_a_desk_killed_after_the_keys_paused_offers_everything_typed_back(
    server: RunningServer,
) -> None:
    import httpx
    import keyring

    from tests.support.keyring_backend import FileKeyring
    from tests.tui.conftest import USERS

    token = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": "agent1", "password": USERS["agent1"][1]},
        timeout=10,
    ).json()["access_token"]
    # the child's keyring is the tests' file backend: the token goes there, and the next desk
    # (in this process) reads the cache's key from there too
    keyring.set_keyring(FileKeyring())  # the autouse fixture puts its own back afterwards
    save_token("default", server.url, token)
    proc = await run_in_thread(
        lambda: subprocess.run(
            [sys.executable, "-c", CHILD, TYPED, server.url],
            cwd=ROOT,
            env={**os.environ},
            capture_output=True,
            text=True,
            timeout=180,
        )
    )
    assert proc.returncode == -9, (proc.returncode, proc.stderr[-3000:])  # killed, not exited
    ticket_id = proc.stdout.strip().splitlines()[-1]
    again = make_app(server.url)
    async with again.run_test(size=(120, 40)) as pilot:
        screen = await accept_restore_offer(pilot, again)
        await until(pilot, lambda: screen.values().get("address") == TYPED, "the address")
        assert screen.ticket_id == ticket_id
