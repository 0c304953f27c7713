"""Event fan-out to 2,000 connected SSE clients (10x a city's 200 agents), and the server's
memory with 2,000 streams open.

The real server process (SQLite, shipped live settings: 15 s heartbeats that also refresh each
agent's seat). 2,000 ``GET /api/v1/events`` streams from one asyncio process here, on raw
sockets (a line reader is all SSE needs; httpx per stream would measure the client), spread
over 50 agent accounts (40 windows each). A shift lead publishes a knowledge-base article --
a change every desk may see, so every stream gets a ``poke``. Latency: from just before the
publishing request is sent to the moment a stream reads its poke, for every stream, over a
series of publishes (one at a time; the next starts when all arrived or after 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from benchmarks import common

USERS = 50
ROUND_TIMEOUT = 5.0


class Stream:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.hello = asyncio.Event()
        self.last_round = -1
        self.closed = False


class Hub:
    """The client side: streams, and which publish round is being measured."""

    def __init__(self) -> None:
        self.round = -1
        self.t_pub = 0.0
        self.latencies: list[float] = []
        self.got = 0
        self.all_in = asyncio.Event()
        self.expected = 0
        self.streams: list[Stream] = []

    def poke(self, stream: Stream) -> None:
        if self.round < 0 or stream.last_round == self.round:
            return
        stream.last_round = self.round
        self.latencies.append(time.perf_counter() - self.t_pub)
        self.got += 1
        if self.got >= self.expected:
            self.all_in.set()


async def open_stream(hub: Hub, port: int, token: str, stop: asyncio.Event) -> None:
    stream = Stream(hub)
    hub.streams.append(stream)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    event = ""
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                break
            text = line.strip()
            if text.startswith(b"event:"):
                event = text[6:].strip().decode()
                if event == "hello":
                    stream.hello.set()
                elif event == "poke":
                    hub.poke(stream)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        stream.closed = True
        writer.close()


async def measure(url: str, port: int, tokens: list[str], lead: str, n: int, rounds: int, pid: int):
    import httpx

    hub = Hub()
    stop = asyncio.Event()
    rss_idle = common.rss_mb(pid)
    t = time.perf_counter()
    tasks = []
    sem_batch = 100
    for start in range(0, n, sem_batch):
        for i in range(start, min(n, start + sem_batch)):
            tasks.append(asyncio.create_task(open_stream(hub, port, tokens[i % len(tokens)], stop)))
        await asyncio.sleep(0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(s.hello.is_set() for s in hub.streams):
            await asyncio.sleep(0.05)
    connected = sum(s.hello.is_set() for s in hub.streams)
    connect_seconds = time.perf_counter() - t
    await asyncio.sleep(1.0)
    rss_streams = common.rss_mb(pid)
    cpu0 = common.cpu_seconds(pid)
    per_round: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for k in range(rounds):
            first = len(hub.latencies)
            hub.all_in = asyncio.Event()
            hub.got = 0
            hub.expected = sum(not s.closed for s in hub.streams)
            hub.round = k
            hub.t_pub = time.perf_counter()
            r = await client.post(
                "/api/v1/kb",
                json={
                    "title": f"通知 {k}",
                    "body": "今日停水通知：黄浦区部分小区。",
                    "tags": ["停水"],
                },
                headers={"Authorization": f"Bearer {lead}"},
            )
            r.raise_for_status()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.all_in.wait(), ROUND_TIMEOUT)
            mine = hub.latencies[first:]
            per_round.append(
                {
                    "received": hub.got,
                    "expected": hub.expected,
                    "at": round(time.perf_counter() - t, 2),
                    "p50_ms": round(common.pct(mine, 50) * 1000, 1),
                    "max_ms": round(max(mine, default=0) * 1000, 1),
                }
            )
            hub.round = -1
            await asyncio.sleep(0.3)
    cpu = common.cpu_seconds(pid) - cpu0
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "streams": n,
        "connected": connected,
        "connect_seconds": connect_seconds,
        "rounds": per_round,
        "latency": common.summary(hub.latencies),
        "missed": sum(r["expected"] - r["received"] for r in per_round),
        "server_rss_idle_mb": rss_idle,
        "server_rss_streams_mb": rss_streams,
        "server_cpu_seconds_during_publishes": cpu,
    }


def run(quick: bool) -> dict[str, Any]:
    n = 2_000
    rounds = 10 if quick else 20
    common.raise_fd_limit(4 * n + 1024)  # the server process inherits the raised limit
    with common.isolated_home("fanout") as tmp:
        db = f"sqlite:///{tmp / 'server.db'}"
        users = {f"fan{i:03d}": ("agent", common.TEAM) for i in range(USERS)}
        users["lead1"] = ("lead", common.TEAM)
        common.prepare_database(db, users)
        server = common.start_server(db, tmp)
        try:
            tokens = [common.login(server.url, u) for u in users if u != "lead1"]
            lead = common.login(server.url, "lead1")
            res = asyncio.run(
                measure(server.url, server.port, tokens, lead, n, rounds, server.process.pid)
            )
        finally:
            server.stop()
    lat = res["latency"]
    rows = [
        common.row(
            "event fan-out to 2,000 SSE clients (publish -> received)",
            {k: lat.get(k) for k in ("n", "p50", "p99", "min", "max")},
            None,
            figure="p50/p99",
            target="p99 < 1 s",
            met=bool(lat.get("n")) and lat["p99"] < 1000 and res["missed"] == 0,
            note=f"{res['connected']} of {n} streams up in {res['connect_seconds']:.1f} s;"
            f" {rounds} publishes; pokes missed {res['missed']}",
        ),
        common.row(
            "memory: server with 2,000 streams",
            {"rss_mb": round(res["server_rss_streams_mb"], 1)},
            {"rss_mb_no_streams": round(res["server_rss_idle_mb"], 1)},
            figure="RSS",
            target="report",
            note="VmRSS of the server process, 1 s after the last stream connected",
        ),
    ]
    return {"rows": rows, "details": res}


if __name__ == "__main__":
    common.main("bench_fanout", run)
