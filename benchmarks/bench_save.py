"""Save a ticket (submit -> committed) against a bare sqlite3 insert + commit, and the same
save while the replicator is online, the link is down, or every answer takes 2 s.

Ours: ``CacheStore.create_ticket`` -- validation, SQLCipher page encryption, ticket row +
outbox row in one ``BEGIN IMMEDIATE`` transaction, WAL + synchronous=FULL.
Baseline: stdlib sqlite3 (no encryption) on the same disk, WAL + FULL, one INSERT of the same
ticket JSON + COMMIT. The two are interleaved save by save so machine noise hits both alike.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import common


def _baseline_conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE tickets (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
    return conn


def bare_vs_ours(workdir: Path, n: int) -> dict[str, Any]:
    from offline_cache import open_cache

    store = open_cache("bench", key_provider=common.FixedKey(), path=workdir / "cache.db")
    store.set_identity("agent1", common.TEAM, "agent")
    bare = _baseline_conn(workdir / "bare.db")
    ours: list[float] = []
    base: list[float] = []
    try:
        for i in range(n + 10):
            fields = common.ticket_fields(i)
            started = datetime.now(UTC)
            t = time.perf_counter()
            store.create_ticket(fields, call_started_at=started)
            d_ours = time.perf_counter() - t
            payload = json.dumps({**fields, "call_started_at": started.isoformat()})
            t = time.perf_counter()
            bare.execute("BEGIN IMMEDIATE")
            bare.execute("INSERT INTO tickets VALUES (?, ?)", (f"id-{i}", payload))
            bare.execute("COMMIT")
            d_base = time.perf_counter() - t
            if i >= 10:  # the first few warm caches and the WAL file
                ours.append(d_ours)
                base.append(d_base)
    finally:
        store.close()
        bare.close()
    return {"ours": common.summary(ours), "baseline": common.summary(base)}


class LoopThread:
    """An asyncio loop in a thread, as the TUI's loop runs the replicator beside save workers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def saves_with_link(
    workdir: Path, url: str, token: str, label: str, n: int, gap: float
) -> dict[str, Any]:
    """``n`` saves, one every ``gap`` s, each followed by a poke, with the replicator running
    against ``url``. Returns the save times and what the replicator managed to push."""
    from offline_cache import Replicator, open_cache

    store = open_cache("bench", key_provider=common.FixedKey(), path=workdir / f"{label}.db")
    store.set_identity("agent1", common.TEAM, "agent")
    lt = LoopThread()
    rep = Replicator(
        store, url, token=token, pull_interval=2.0, backoff_cap=2.0, request_timeout=10.0
    )
    task = asyncio.run_coroutine_threadsafe(rep.run(), lt.loop)
    times: list[float] = []
    try:
        time.sleep(0.3)
        for i in range(n + 5):
            t = time.perf_counter()
            store.create_ticket(common.ticket_fields(i), call_started_at=datetime.now(UTC))
            d = time.perf_counter() - t
            lt.loop.call_soon_threadsafe(rep.poke)
            if i >= 5:
                times.append(d)
            time.sleep(gap)
        outbox = store.outbox_stats().size
    finally:
        lt.run(rep.stop())
        try:
            task.result(timeout=20)
        except Exception:
            task.cancel()
        lt.close()
        store.close()
    return {"saves": common.summary(times), "outbox_left": outbox, "link": label}


def run(quick: bool) -> dict[str, Any]:
    from tests.support.faultproxy import Fault, FaultProxy
    from tests.support.server import free_port

    n = 150 if quick else 600
    n_link = 60 if quick else 200
    gap = 0.02
    rows = []
    details: dict[str, Any] = {}
    with common.isolated_home("save") as tmp:
        bare = bare_vs_ours(tmp, n)
        details["bare"] = bare
        r = common.ratio(bare["ours"]["p99"], bare["baseline"]["p99"])
        rows.append(
            common.row(
                "save a ticket (submit -> committed)",
                bare["ours"],
                bare["baseline"],
                figure="p99",
                target="p99 <= 1.5x baseline",
                ratio_value=r,
                met=r <= 1.5,
                note="baseline: stdlib sqlite3, WAL+FULL, insert+commit of the same JSON",
            )
        )
        db = f"sqlite:///{tmp / 'server.db'}"
        common.prepare_database(db, {"agent1": ("agent", common.TEAM)})
        server = common.start_server(db, tmp)
        proxy = FaultProxy(target_port=server.port, delay_seconds=2.0).start()
        proxy.fault_rate(1.0, (Fault.DELAY,))
        try:
            token = common.login(server.url, "agent1")
            online = saves_with_link(tmp, server.url, token, "online", n_link, gap)
            dead = f"http://127.0.0.1:{free_port()}"
            down = saves_with_link(tmp, dead, token, "down", n_link, gap)
            slow = saves_with_link(tmp, proxy.url, token, "slow2s", n_link, gap)
        finally:
            proxy.stop()
            server.stop()
        details["links"] = {"online": online, "down": down, "slow2s": slow}
        for label, res in (("link down", down), ("link 2 s slow", slow)):
            r = common.ratio(res["saves"]["p99"], online["saves"]["p99"])
            rows.append(
                common.row(
                    f"save while {label}",
                    res["saves"],
                    online["saves"],
                    figure="p99",
                    target="equal to online (no network on the save path)",
                    ratio_value=r,
                    met=r <= 1.25,
                    note=f"replicator running; outbox left {res['outbox_left']}"
                    f" (online left {online['outbox_left']}); 'equal' read as within 25%",
                )
            )
    return {"rows": rows, "details": details}


if __name__ == "__main__":
    common.main("bench_save", run)
