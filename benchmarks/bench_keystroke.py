"""Keystroke to screen in the intake form: 100k tickets cached and sync running, against a
bare Textual ``Input`` (issue 14's baseline), measured in the same run.

Both are the real desk app (``build_app``) headless. A keystroke is ``Pilot.press`` (the key
is delivered and every widget of the screen has handled its messages) and then a refresh
(``pilot.pause(0)``); the clock stops when the field shows the character. The agent types a
caller's phone number (11 digits; a valid number starts the caller lookup in the cache) and an
address (4+ characters start the address lookup), the form validates on every key and the
draft autosaves every half second -- the same keys in both runs.

- ours: the cache holds 100,000 tickets; the replicator is online against the real server
  (pull every second) while a second agent of the same team pushes a new ticket every 0.2 s
  from a process of its own (another desk: its CPU is not the measured desk's);
- baseline: the same press + refresh on a bare Textual app with one ``Input``, measured in
  two halves, before and after ours, so both see the same machine load;
- for reference (not the target): the desk on an empty cache with the server unreachable.

Until 2026-12-06 the ratio compared ours with the empty-cache desk, not with the bare
``Input`` the issue names, and the second agent pushed from a thread of the measured process
(``Pilot.press`` waits until the whole process is idle, so its CPU counted as ours).

``Pilot.press`` returns only once the whole *process* looks idle (Textual's ``wait_for_idle``
compares process CPU time with the wall clock), so the figure above also counts what other
threads of the desk do after the key (the replicator's thread, workers). A second pass types
the same keys as a terminal delivers them, ``FRAME_CADENCE`` apart (a fast typist), and times
each from its delivery to the first frame the screen produces with the field showing it
(``App._display``: headless Textual composes the frame and skips only the terminal write):
what the agent sees, including the GIL the desk's other threads hold, not their idle time.

Beside the wall clock, the CPU time of the UI thread per key (``time.thread_time`` on the
thread that runs the app's loop and Pilot: what the agent's keystroke competes with there) and
the whole process's CPU over the typing (the replicator's thread, workers), for ours, the bare
Input and the empty desk: figures a loaded machine changes far less than milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from benchmarks import common

PHONE = "13800138000"
ADDRESS = "上海市黄浦区人民路123号3室"


async def _until(check: Any, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.005)
    raise RuntimeError("timed out")


FRAME_CADENCE = 0.12  # seconds between two keys of the frame pass (~8 keys a second)


class Frames:
    """Key delivered -> the first frame composed with the field showing it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.first = common.FirstFrame(app)

    async def key(self, box: Any, ch: str, expected: str) -> float:
        from textual import events

        key = ch if ch.isalnum() else None
        if key is None:
            from textual.keys import _character_to_key

            key = _character_to_key(ch)
        event = events.Key(key, ch)
        event.set_sender(self.app)
        return await self.first.after(
            lambda: self.app._driver.send_message(event), lambda: box.value == expected
        )


async def frame_pass(app: Any, boxes: list[tuple[Any, str]], typing: Typing) -> None:
    """Type ``text`` into each box as a terminal would: no waiting for idleness, one key
    every FRAME_CADENCE seconds; ``typing.frames`` gets each key's delivery-to-frame time."""
    frames = Frames(app)
    cpu0, ui0 = time.process_time(), time.thread_time()
    keys = 0
    for box, text in boxes:
        box.value = ""
        box.focus()
        await asyncio.sleep(0.2)
        for i, ch in enumerate(text):
            started = time.perf_counter()
            typing.frames.append(await frames.key(box, ch, text[: i + 1]))
            keys += 1
            await asyncio.sleep(max(0.0, FRAME_CADENCE - (time.perf_counter() - started)))
    typing.frame_process_cpu = time.process_time() - cpu0
    typing.frame_ui_cpu = time.thread_time() - ui0
    typing.frame_keys = keys


class Typing:
    """What typing cost: wall time per key, the UI thread's CPU per key, and the process's
    and the UI thread's CPU over the whole typing (seconds)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.ui_cpu: list[float] = []
        self.process_cpu = 0.0
        self.ui_cpu_total = 0.0
        self.frames: list[float] = []  # the frame pass: delivery -> frame, per key
        self.frame_process_cpu = 0.0
        self.frame_ui_cpu = 0.0
        self.frame_keys = 0

    def summary(self) -> dict[str, Any]:
        keys = len(self.times) or 1
        shown = [f for f in self.frames if f == f]  # NaN: not shown within 10 s
        frame_keys = self.frame_keys or 1
        return {
            "ui_cpu_per_key": common.summary(self.ui_cpu),
            "ui_cpu_ms_per_key_overall": round(1000 * self.ui_cpu_total / keys, 2),
            "process_cpu_ms_per_key_overall": round(1000 * self.process_cpu / keys, 2),
            "frame": common.summary(shown),
            "frame_not_shown": len(self.frames) - len(shown),
            "frame_ui_cpu_ms_per_key": round(1000 * self.frame_ui_cpu / frame_keys, 2),
            "frame_process_cpu_ms_per_key": round(1000 * self.frame_process_cpu / frame_keys, 2),
        }

    def add(self, other: Typing) -> Typing:
        both = Typing()
        for name in ("times", "ui_cpu", "frames"):
            setattr(both, name, getattr(self, name) + getattr(other, name))
        for name in ("process_cpu", "ui_cpu_total", "frame_process_cpu", "frame_ui_cpu"):
            setattr(both, name, getattr(self, name) + getattr(other, name))
        both.frame_keys = self.frame_keys + other.frame_keys
        return both


async def type_keys(app: Any, pilot: Any, rounds: int) -> Typing:
    from textual.widgets import Input

    from agent_tui.screens.intake import IntakeScreen

    await _until(
        lambda: (
            isinstance(app.screen, IntakeScreen)
            and app.screen.form is not None
            and app.screen.query("#f-phone")
        )
    )
    await pilot.pause(0.5)
    screen = app.screen
    typing = Typing()
    times = typing.times
    cpu0, ui0 = time.process_time(), time.thread_time()
    for _ in range(rounds):
        for field, text in (("phone", PHONE), ("address", ADDRESS)):
            box = screen.query_one(f"#f-{field}", Input)
            box.value = ""
            box.focus()
            await pilot.pause(0)
            for ch in text:
                t, c = time.perf_counter(), time.thread_time()
                await pilot.press(ch)
                await pilot.pause(0)
                if not box.value.endswith(ch):
                    await _until(lambda box=box, ch=ch: box.value.endswith(ch), 10)
                times.append(time.perf_counter() - t)
                typing.ui_cpu.append(time.thread_time() - c)
        await pilot.pause(0.6)  # the autosave and lookups of this "call" run, as between calls
    typing.process_cpu = time.process_time() - cpu0
    typing.ui_cpu_total = time.thread_time() - ui0
    boxes = [
        (screen.query_one(f"#f-{f}", Input), t) for f, t in (("phone", PHONE), ("address", ADDRESS))
    ]
    for _ in range(rounds):
        await frame_pass(app, boxes, typing)
        await asyncio.sleep(0.6)
    return typing


def _pusher_process(url: str, token: str, stop: Any, made: Any) -> None:
    """The second agent in a process of its own (its desk is another machine)."""
    box = [0]
    try:
        _pusher(url, token, stop, box)
    finally:
        made.value = box[0]


def _pusher(url: str, token: str, stop: Any, made: list[int]) -> None:
    """A second agent of the team: one new ticket pushed every 0.2 s (bounded)."""
    import httpx

    client_id = str(uuid.uuid4())
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(1, 5000):
            if stop.is_set():
                return
            tid = f"01930000-0000-7000-8000-{i:012d}"
            mutation = {
                "mutation_id": i,
                "name": "create_ticket",
                "args": {
                    **common.ticket_fields(i),
                    "id": tid,
                    "call_started_at": datetime.now(UTC).isoformat(),
                    "created_at": datetime.now(UTC).isoformat(),
                    "disposition": "pending",
                },
                "client_time": datetime.now(UTC).isoformat(),
            }
            r = client.post(
                "/api/v1/sync/push",
                json={"client_id": client_id, "mutations": [mutation]},
                headers={"Authorization": f"Bearer {token}"},
            )
            if r.status_code == 200:
                made[0] += 1
            stop.wait(0.2)


async def desk_run(url: str, store: Any, rounds: int, sync: dict[str, Any]) -> Typing:
    from agent_tui.app import build_app
    from agent_tui.config import Settings
    from agent_tui.services import DeskServices

    settings = Settings(server=url)
    desk = DeskServices(settings, store=store, sync_options=sync)
    app = build_app(settings, desk=desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(lambda: app.status.user == "agent1")
        return await type_keys(app, pilot, rounds)


async def bare_input(n: int) -> Typing:
    """Reference: the same press + refresh on a bare Textual app with one Input."""
    from textual.app import App, ComposeResult
    from textual.widgets import Input

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Input()

    app = Bare()
    typing = Typing()
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.query_one(Input)
        box.focus()
        await pilot.pause(0)
        cpu0, ui0 = time.process_time(), time.thread_time()
        for i in range(n):
            ch = (PHONE + ADDRESS)[i % (len(PHONE) + len(ADDRESS))]
            t, c = time.perf_counter(), time.thread_time()
            await pilot.press(ch)
            await pilot.pause(0)
            typing.times.append(time.perf_counter() - t)
            typing.ui_cpu.append(time.thread_time() - c)
        typing.process_cpu = time.process_time() - cpu0
        typing.ui_cpu_total = time.thread_time() - ui0
        text = (PHONE + ADDRESS) * (n // (len(PHONE) + len(ADDRESS)) + 1)
        await frame_pass(app, [(box, text[:n])], typing)
    return typing


def run(quick: bool) -> dict[str, Any]:
    import multiprocessing

    from offline_cache import open_cache, save_token
    from tests.support.server import free_port

    rounds = 3 if quick else 6
    keys = rounds * (len(PHONE) + len(ADDRESS))
    load_before = os.getloadavg()
    bare_before = asyncio.run(bare_input(keys // 2))
    with common.isolated_home("keys") as tmp:
        # for reference: the desk on an empty cache, no server
        dead = f"http://127.0.0.1:{free_port()}"
        save_token("default", dead, "yesterdays-token")
        empty = open_cache("bench", key_provider=common.FixedKey(), path=tmp / "empty.db")
        empty.set_identity("agent1", common.TEAM, "agent")
        empty_desk = asyncio.run(desk_run(dead, empty, rounds, {"backoff_cap": 60.0}))

        # ours: 100k cached, online, another agent pushing
        db = f"sqlite:///{tmp / 'server.db'}"
        users = {"agent1": ("agent", common.TEAM), "agent2": ("agent", common.TEAM)}
        common.prepare_database(db, users)
        server = common.start_server(db, tmp)
        spawn = multiprocessing.get_context("spawn")
        stop = spawn.Event()
        made = spawn.Value("i", 0)
        pusher = None
        try:
            token = common.login(server.url, "agent1")
            save_token("default", server.url, token)
            path = common.seeded_copy(100_000, tmp / "big.db")
            big = open_cache("bench", key_provider=common.FixedKey(), path=path)
            common.adopt_epoch(big, server.url, token)
            pusher = spawn.Process(
                target=_pusher_process,
                args=(server.url, common.login(server.url, "agent2"), stop, made),
                daemon=True,
            )
            pusher.start()
            ours = asyncio.run(desk_run(server.url, big, rounds, {"pull_interval": 1.0}))
        finally:
            stop.set()
            if pusher is not None:
                pusher.join(10)
            server.stop()
    bare_after = asyncio.run(bare_input(keys - keys // 2))
    load_after = os.getloadavg()
    bare = bare_before.add(bare_after)
    s_ours = common.summary(ours.times)
    s_base = common.summary(bare.times)
    s_empty = common.summary(empty_desk.times)
    cpu_ours, cpu_bare = ours.summary(), bare.summary()
    r = common.ratio(s_ours["p99"], s_base["p99"])
    rows = [
        common.row(
            "keystroke to screen in intake (100k cached, sync running)",
            s_ours,
            s_base,
            figure="p99",
            target="<= 1.2x",
            ratio_value=r,
            met=r <= 1.2,
            note=f"baseline: the same press on a bare Textual Input, half before and half"
            f" after ours; {made.value} tickets pushed by a second agent (its own process)"
            f" during the run; for reference, the desk on an empty cache with no server: p50"
            f" {s_empty['p50']:.0f} ms, p99 {s_empty['p99']:.0f} ms; UI thread CPU per key"
            f" {cpu_ours['ui_cpu_ms_per_key_overall']:.1f} ms (bare Input"
            f" {cpu_bare['ui_cpu_ms_per_key_overall']:.1f} ms), process CPU per key"
            f" {cpu_ours['process_cpu_ms_per_key_overall']:.1f} ms; key delivered to frame"
            f" (no idle wait, a key every {FRAME_CADENCE:.2f} s): ours p50"
            f" {cpu_ours['frame'].get('p50', 0):.0f} / p99 {cpu_ours['frame'].get('p99', 0):.0f}"
            f" ms, bare Input p50 {cpu_bare['frame'].get('p50', 0):.0f} / p99"
            f" {cpu_bare['frame'].get('p99', 0):.0f} ms; load"
            f" {load_before[0]:.1f} -> {load_after[0]:.1f}",
        ),
        _frame_row(cpu_ours, cpu_bare, made.value),
    ]
    return {
        "rows": rows,
        "details": {
            "ours": s_ours,
            "baseline": s_base,
            "bare_input_before": common.summary(bare_before.times),
            "bare_input_after": common.summary(bare_after.times),
            "empty_desk": s_empty,
            "cpu_ours": cpu_ours,
            "cpu_bare_input": cpu_bare,
            "cpu_empty_desk": empty_desk.summary(),
            "load_before": load_before,
            "load_after": load_after,
            "pushed": made.value,
        },
    }


def _frame_row(ours: dict[str, Any], bare: dict[str, Any], pushed: int) -> dict[str, Any]:
    """The frame pass as a row of its own: key delivered -> first frame showing it, ours
    against the bare Input's same pass. What the agent sees, without ``Pilot.press``'s wait
    for the whole process to idle (which counts the replicator's thread as the key's time)
    and without the message it posts to every widget (a harness cost a terminal never pays).
    Keys not shown within 10 s count as 10 s here, never as missing."""
    f_ours, f_bare = dict(ours["frame"]), bare["frame"]
    if ours["frame_not_shown"]:
        f_ours["p99"] = 10_000.0
    r = common.ratio(f_ours.get("p99", 0.0), f_bare.get("p99", 0.0))
    return common.row(
        "keystroke to screen in intake, key delivered to frame (100k cached, sync running)",
        f_ours,
        f_bare,
        figure="p99",
        target="<= 1.2x",
        ratio_value=r,
        met=r <= 1.2,
        note=f"a key every {FRAME_CADENCE:.2f} s as a terminal delivers it, timed to the first"
        f" frame composed with the field showing it; baseline: the same pass on a bare"
        f" Textual Input, half before and half after ours; {pushed} tickets pushed by a"
        f" second agent during the run; UI thread CPU per key"
        f" {ours['frame_ui_cpu_ms_per_key']:.1f} ms (bare {bare['frame_ui_cpu_ms_per_key']:.1f}"
        f" ms); keys not shown within 10 s: {ours['frame_not_shown']}",
    )


if __name__ == "__main__":
    common.main("bench_keystroke", run)
