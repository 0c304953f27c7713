"""UI-loop CPU per key in the intake form, against a bare Textual ``Input``, same process.

Not a row of the recorded table (``bench_keystroke`` is, with sync running and a second
agent pushing): this isolates the widget side of a keystroke. The desk runs on its cache with
no server (the agent chose "work offline"), so no sync and no network share the loop.

A key is delivered the way a terminal delivers it (a ``Key`` event from the driver), then the
loop runs on its own for 40 ms (the key's handling, the form's checks, the screen's next
frame at 60 fps); the figure is the CPU time of the thread that runs Textual's event loop
over that time (``time.thread_time``: lookups and draft writes in worker threads are not
counted, waiting is not), so it holds on a loaded machine where wall-clock times do not.
Not ``Pilot.press``: to wait for idle it posts a callback to every widget of the screen
(twice per key with ``pause``), a cost of the test harness that grows with the widgets
and that a terminal never pays (~200 messages per key on the intake screen). The bare
``Input`` is measured in two halves, before and after the desk. Also counted: how many times
the screen was laid out per key (a reflow of every widget, ``Screen._refresh_layout``).

    .venv/bin/python -m benchmarks.bench_keycpu [--keys N]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from benchmarks import common

DEAD_SERVER = "http://127.0.0.1:9"
TYPED = (("phone", "13812345678"), ("caller_name", "欧阳小红"), ("address", "徐汇区漕溪北路100号"))


class LayoutCounter:
    """Counts the screen layouts (full reflows and scroll reflows) while ``on``."""

    def __init__(self) -> None:
        from textual.screen import Screen

        self.full = 0
        self.scroll = 0
        self.on = False
        original = Screen._refresh_layout

        def counted(screen: Any, size: Any = None, scroll: bool = False) -> None:
            if self.on:
                if scroll and not screen._layout_widgets:
                    self.scroll += 1
                else:
                    self.full += 1
            original(screen, size, scroll)

        Screen._refresh_layout = counted  # type: ignore[method-assign]


SETTLE_SECONDS = 0.04


async def _press(pilot: Any, ch: str) -> float:
    """One key as a terminal sends it; the UI thread's CPU until the loop has settled."""
    from textual import events

    app = pilot.app
    t = time.thread_time()
    event = events.Key(ch, ch)
    event.set_sender(app)
    app._driver.send_message(event)
    await asyncio.sleep(SETTLE_SECONDS)
    return time.thread_time() - t


async def bare_keys(n: int) -> list[float]:
    from textual.app import App, ComposeResult
    from textual.widgets import Input

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Input()

    app = Bare()
    text = "".join(t for _, t in TYPED)
    out: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.query_one(Input)
        box.focus()
        await pilot.pause(0.2)
        for i in range(n):
            if i and i % 30 == 0:
                box.value = ""
                await pilot.pause(0)
            out.append(await _press(pilot, text[i % len(text)]))
        await pilot.pause(0.1)
        assert box.value, "the keys did not reach the bare Input"
    return out


def _seed() -> None:
    from offline_cache import open_cache

    store = open_cache("default")
    try:
        store.set_identity("agent1", "east", "agent")
    finally:
        store.close()


async def desk_keys(rounds: int, layouts: LayoutCounter) -> tuple[list[float], int]:
    from agent_tui.app import build_app
    from agent_tui.config import Settings
    from agent_tui.screens.intake import IntakeScreen
    from agent_tui.services import DeskServices

    settings = Settings(server=DEAD_SERVER)
    app = build_app(settings, desk=DeskServices(settings, sync_options={"listen": False}))
    out: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 60
        while app.screen.__class__.__name__ != "SignInScreen":
            assert time.monotonic() < deadline, "no sign-in dialog"
            await pilot.pause(0.05)
        await pilot.press("escape")  # work offline, on the cache
        while not (isinstance(app.screen, IntakeScreen) and app.screen.form is not None):
            assert time.monotonic() < deadline, "no intake form"
            await pilot.pause(0.05)
        screen = app.screen
        await pilot.pause(0.5)
        layouts.on = True
        for _ in range(rounds):
            for field, text in TYPED:
                box = screen.query_one(f"#f-{field}")
                box.value = ""
                box.focus()
                await pilot.pause(0)
                layouts.on = True
                for ch in text:
                    out.append(await _press(pilot, ch))
                layouts.on = False
                await pilot.pause(0.1)
                assert box.value == text, f"typed {text!r}, the field holds {box.value!r}"
            await pilot.pause(0.6)  # the autosave and lookups of this "call" run
        widgets = len(list(screen.walk_children(with_self=True)))
    return out, widgets


async def measure(keys: int) -> dict[str, Any]:
    layouts = LayoutCounter()
    per_round = sum(len(t) for _, t in TYPED)
    rounds = max(1, keys // per_round)
    await bare_keys(20)  # warm: Textual's first-time work
    bare = await bare_keys(rounds * per_round // 2)
    ours, widgets = await desk_keys(rounds, layouts)
    bare += await bare_keys(rounds * per_round - len(bare))
    mine, base = common.summary(ours), common.summary(bare)
    return {
        "ours_cpu_ms": mine,
        "bare_cpu_ms": base,
        "ratio": {k: round(common.ratio(mine[k], base[k]), 2) for k in ("p50", "p99", "mean")},
        "layouts_per_key": {
            "full": round(layouts.full / len(ours), 2),
            "scroll": round(layouts.scroll / len(ours), 2),
        },
        "intake_widgets": widgets,
        "load": os.getloadavg(),
    }


def main() -> None:
    keys = int(sys.argv[sys.argv.index("--keys") + 1]) if "--keys" in sys.argv else 120
    with common.isolated_home("keycpu"):
        _seed()
        print(json.dumps(asyncio.run(measure(keys)), indent=1, default=str))


if __name__ == "__main__":
    main()
