"""Memory: resident set size of the desk (the TUI) with 100,000 tickets cached.

Each figure is a fresh process (``--child``) running the real desk app headless, opened
offline on its cache: the intake form is built, then the queue opened on the "all" view and
paged down 50 times (rows held by the view stay bounded), then RSS (VmRSS) is read. For
comparison, the same desk on an empty cache, measured the same way in the same run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from benchmarks import common


async def desk_rss(n: int) -> dict[str, float]:
    from agent_tui.app import build_app
    from agent_tui.config import Settings
    from agent_tui.services import DeskServices
    from agent_tui.widgets.queue_table import QueueTable
    from offline_cache import open_cache, save_token
    from tests.support.server import free_port

    out: dict[str, float] = {"start": common.rss_mb()}
    with common.isolated_home("memory") as tmp:
        path = common.seeded_copy(n, tmp / "cache.db") if n else tmp / "cache.db"
        store = open_cache("bench", key_provider=common.FixedKey(), path=path)
        store.set_identity("agent1", common.TEAM, "agent")
        dead = f"http://127.0.0.1:{free_port()}"
        save_token("default", dead, "yesterdays-token")
        settings = Settings(server=dead)
        app = build_app(settings, desk=DeskServices(settings, store=store))
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                deadline = time.monotonic() + 60
                while app.status.user != "agent1" and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                await pilot.pause(0.5)
                out["intake"] = common.rss_mb()
                app.switch_mode("queue")
                await pilot.pause(0.5)
                app.screen.action_view("all")
                table = app.screen.query_one(QueueTable)
                deadline = time.monotonic() + 60
                while (table.total == 0 or not table.loaded) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                for _ in range(50):
                    await pilot.press("pagedown")
                await pilot.pause(0.5)
                out["queue"] = common.rss_mb()
        except Exception as exc:  # the desk failed on its own (not while measuring): say so
            if "queue" not in out:
                raise
            out["app_error"] = f"{type(exc).__name__}: {exc}"
    return out


def child(n: int) -> None:
    sys.stdout.write(json.dumps(asyncio.run(desk_rss(n))) + "\n")


def run(quick: bool) -> dict[str, Any]:
    res = {}
    for n in (0, 100_000):
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_memory", "--child", str(n)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        res[n] = json.loads(proc.stdout.strip().splitlines()[-1])
    big, empty = res[100_000], res[0]
    rows = [
        common.row(
            "memory: TUI with 100k tickets cached",
            {"rss_mb": round(big["queue"], 1), "intake_mb": round(big["intake"], 1)},
            {"rss_mb_empty_cache": round(empty["queue"], 1)},
            figure="RSS",
            target="report",
            note="VmRSS after the intake form and 50 pages of the queue's all view"
            + "".join(
                f"; desk error after measuring: {d['app_error']}"
                for d in (big, empty)
                if d.get("app_error")
            ),
        )
    ]
    return {"rows": rows, "details": {"100k": big, "empty": empty}}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
    else:
        common.main("bench_memory", run)
