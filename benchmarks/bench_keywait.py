"""What keeps ``Pilot.press`` waiting: the idle windows of each press and what ran in them.

Not a row of the recorded table: a probe for ``bench_keystroke``'s Pilot-timed row. A press
returns once Textual's ``wait_for_idle`` has seen a 20 ms window in which the whole process
used under 1 ms of CPU (``textual/_wait.py``), twice per press. A bare ``Input`` needs three
windows a press (the key's, then one idle window per wait); every window more is 20 ms more.

This runs ``bench_keystroke --quick`` as it is (the empty desk, then the desk on 100k tickets
with sync running and a second agent pushing) with the wait instrumented: for each press, each
window's process CPU, the CPU of every thread of the desk in it (``pthread_getcpuclockid``),
and the loop callbacks that ran in it (any thread's loop, with their thread CPU). A busy window
after the first of a press is put down to what ran in it: a sync round (the replicator's
round), the event stream (a poke or heartbeat read by the listener), the app's one-second
tick (the status read), a one-shot timer (the sync state's settle timer, the form's settle),
a frame, or other; and every callback over ``NAMED`` ms of its thread's CPU in such a window
is named, once per window (the same callback in many busy windows is the one to look at).
The instrumentation costs CPU of its own (~0.1 ms a window), so compare
trees with this probe on both, not with the benchmark's figures.

    .venv/bin/python -m benchmarks.bench_keywait
"""

from __future__ import annotations

import asyncio
import asyncio.events
import json
import statistics
import sys
import threading
import time
from collections import Counter
from typing import Any

from benchmarks import bench_keystroke

SLEEP = 1 / 50  # textual._wait.SLEEP_GRANULARITY
IDLE = SLEEP / 20.0  # textual._wait.SLEEP_IDLE
NOTED = 0.00005  # callbacks shorter than this are not listed
NAMED = 0.2  # ms: a callback this long in a busy window is named in the summary

STATE: dict[str, Any] = {"on": False, "callbacks": [], "windows": [], "presses": []}


def _threads_cpu() -> dict[str, float]:
    out = {}
    for t in threading.enumerate():
        if t.ident is None:
            continue
        try:
            out[t.name] = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except (OSError, ValueError):
            continue
    return out


async def _wait_for_idle(min_sleep: float = SLEEP, max_sleep: float = 1) -> None:
    """Textual's ``wait_for_idle``, the same test, each window recorded."""
    start = time.monotonic()
    while True:
        cpu, threads, seen = time.process_time(), _threads_cpu(), len(STATE["callbacks"])
        await asyncio.sleep(SLEEP)
        used = time.process_time() - cpu
        elapsed = time.monotonic() - start
        if STATE["on"]:
            after = _threads_cpu()
            STATE["windows"].append(
                {
                    "cpu": used * 1000,
                    "idle": used < IDLE,
                    "threads": {
                        k: (v - threads.get(k, 0.0)) * 1000
                        for k, v in after.items()
                        if v - threads.get(k, 0.0) > NOTED
                    },
                    "callbacks": STATE["callbacks"][seen:],
                }
            )
        if elapsed >= max_sleep or (elapsed > min_sleep and used < IDLE):
            return


def _callback_name(handle: Any) -> str:
    callback = handle._callback
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        name = str(getattr(coro, "__qualname__", coro))
        frame = getattr(coro, "cr_frame", None)
        me = frame.f_locals.get("self") if frame is not None else None
        if me is not None and "Timer" in name:
            inner = getattr(me, "_callback", None)
            inner = getattr(inner, "args", (inner,))[0] if inner is not None else None  # partial
            name = "timer " + str(getattr(inner, "__qualname__", getattr(me, "name", inner)))
        elif me is not None and "_process_messages" in name:
            name += " " + type(me).__name__  # whose queue
        return name
    return str(getattr(callback, "__qualname__", callback))


def _install() -> None:
    import textual._wait
    import textual.app
    import textual.pilot

    for module in (textual._wait, textual.app, textual.pilot):
        module.wait_for_idle = _wait_for_idle  # type: ignore[attr-defined]

    run = asyncio.events.Handle._run

    def timed(handle: Any) -> None:
        if not STATE["on"]:
            run(handle)
            return
        name = _callback_name(handle)  # before it runs: a finished task has no frame
        t = time.thread_time()
        run(handle)
        used = time.thread_time() - t
        if used > NOTED:
            STATE["callbacks"].append((name, used * 1000))

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]

    press = textual.pilot.Pilot.press

    async def recorded(pilot: Any, *keys: str) -> None:
        STATE.update(on=True, callbacks=[], windows=[])
        started = time.perf_counter()
        try:
            await press(pilot, *keys)
        finally:
            STATE["on"] = False
        STATE["presses"].append(
            {"ms": (time.perf_counter() - started) * 1000, "windows": STATE["windows"]}
        )

    textual.pilot.Pilot.press = recorded  # type: ignore[method-assign]


def cause(window: dict[str, Any]) -> str:
    names = " ".join(name for name, _ in window["callbacks"])
    if "SyncThread" in names:
        return "sync round"
    if "Replicator._listen" in names:
        return "event stream (poke, heartbeat)"
    if "_tick" in names:
        return "one-second tick"
    if "Timer._run_timer" in names or "_flush_sync_state" in names or "_settled" in names:
        return "one-shot timer"
    if window["threads"].get("desk-replicator", 0.0) > 0.3:
        return "replicator, other"
    if "_on_timer_update" in names:
        return "frame"
    return "other"


def summary(presses: list[dict[str, Any]]) -> dict[str, Any]:
    busy: Counter[str] = Counter()
    named: Counter[str] = Counter()  # each callback over NAMED ms, once per busy window
    spent: dict[str, list[float]] = {}  # its thread CPU in those windows, summed per window
    busy_cpu: list[float] = []
    for press in presses:
        for window in press["windows"][1:]:
            if not window["idle"]:
                busy[cause(window)] += 1
                busy_cpu.append(window["cpu"])
                per: Counter[str] = Counter()
                for name, ms in window["callbacks"]:
                    per[name] += ms
                named.update({name for name, ms in per.items() if ms > NAMED})
                for name, ms in per.items():
                    if ms > NAMED:
                        spent.setdefault(name, []).append(ms)
    ms = sorted(p["ms"] for p in presses)
    return {
        "presses": len(presses),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "windows_per_press": round(sum(len(p["windows"]) for p in presses) / len(presses), 3),
        "busy_windows_after_the_first": dict(busy.most_common()),
        f"callbacks_over_{NAMED}_ms_in_those_windows": {
            name: f"{n} windows, median {statistics.median(spent[name]):.2f} ms"
            for name, n in named.most_common(12)
        },
        "busy_window_process_cpu_ms_median": (
            round(statistics.median(busy_cpu), 2) if busy_cpu else None
        ),
        "first_window_cpu_ms_median": round(
            statistics.median(p["windows"][0]["cpu"] for p in presses if p["windows"]), 2
        ),
    }


def main() -> None:
    _install()
    runs: dict[str, Any] = {}
    desk_run = bench_keystroke.desk_run

    async def probed(url: str, store: Any, rounds: int, sync: dict[str, Any]) -> Any:
        STATE["presses"] = []
        try:
            return await desk_run(url, store, rounds, sync)
        finally:
            name = "sync running" if "pull_interval" in sync else "empty desk, no server"
            runs[name] = summary(STATE["presses"])

    bench_keystroke.desk_run = probed  # type: ignore[assignment]
    result = bench_keystroke.run(quick="--full" not in sys.argv)
    runs["pushed"] = result["details"]["pushed"]
    print(json.dumps(runs, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
