"""Event fan-out to 200 connected SSE clients (a city's agents) and to 2,000 (10x), and the
server's memory with 2,000 streams open.

The real server process (SQLite, shipped live settings: 15 s heartbeats that also refresh each
agent's seat). The ``GET /api/v1/events`` streams come from one asyncio process here, on raw
sockets read in chunks (a stream only has to spot ``event: poke``; httpx, or a line reader,
per stream would measure the client), spread over 50 agent accounts. A shift lead publishes a
knowledge-base article -- a change every desk may see, so every stream gets a ``poke``.
Latency: from just before the publishing request is sent to the moment a stream reads its
poke, for every stream, over a series of publishes (one at a time; the next starts when all
arrived or after 5 s). First with 200 streams open, then with 2,000 on the same server.

The client's own cost is part of every figure: one process reads every stream, so the last
stream of a round is read after the client has handled all the others. The details record the
client's CPU per round beside the server's, so a reader can see how much of a round is ours.
The client runs on uvloop when it is installed (it is, with uvicorn[standard]): the same event
loop the server runs on, at about half the CPU per read of asyncio's own; ``client_loop`` in the
details says which. Splitting the reading over two processes does not help on a loaded 2-core
machine: the CPU it needs is the same, and it competes with the server for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from benchmarks import common

USERS = 50
ROUND_TIMEOUT = 5.0
SIZES = (200, 2_000)
POKE = b"event: poke"


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
    tail = b""
    try:
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                break
            text = tail + chunk
            if not stream.hello.is_set() and b"event: hello" in text:
                stream.hello.set()
            if POKE in text:
                hub.poke(stream)
            tail = text[-len(POKE) :]  # a marker cut in two by a chunk boundary
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        stream.closed = True
        writer.close()


async def connect(hub: Hub, port: int, tokens: list[str], n: int, stop: asyncio.Event,
                  tasks: list[asyncio.Task[None]]) -> float:  # fmt: skip
    """Open streams until ``n`` are up (100 at a time); returns the seconds it took."""
    t = time.perf_counter()
    for start in range(len(hub.streams), n, 100):
        for i in range(start, min(n, start + 100)):
            tasks.append(asyncio.create_task(open_stream(hub, port, tokens[i % len(tokens)], stop)))
        await asyncio.sleep(0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(s.hello.is_set() for s in hub.streams):
            await asyncio.sleep(0.05)
    return time.perf_counter() - t


async def rounds_of(hub: Hub, url: str, lead: str, rounds: int, pid: int) -> dict[str, Any]:
    import httpx

    hub.latencies = []
    per_round: list[dict[str, Any]] = []
    t = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        # one publish first, not measured: the first one also pays for the server's first
        # knowledge-base write and statement caches (in the 05:00 run it was the 200-stream
        # case's slowest round by far, and so its p99)
        warm = await client.post(
            "/api/v1/kb",
            json={"title": "通知 预热", "body": "今日停水通知：黄浦区部分小区。", "tags": ["停水"]},
            headers={"Authorization": f"Bearer {lead}"},
        )
        warm.raise_for_status()
        await asyncio.sleep(1.0)
        cpu0 = common.cpu_seconds(pid)
        mine0 = time.process_time()
        for k in range(rounds):
            first = len(hub.latencies)
            hub.all_in = asyncio.Event()
            hub.got = 0
            hub.expected = sum(not s.closed for s in hub.streams)
            hub.round = k
            client_cpu = time.process_time()
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
            publish_ms = (time.perf_counter() - hub.t_pub) * 1000  # the write's own round trip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.all_in.wait(), ROUND_TIMEOUT)
            mine = hub.latencies[first:]
            per_round.append(
                {
                    "received": hub.got,
                    "expected": hub.expected,
                    "at": round(time.perf_counter() - t, 2),
                    "publish_ms": round(publish_ms, 1),
                    "p50_ms": round(common.pct(mine, 50) * 1000, 1),
                    "max_ms": round(max(mine, default=0) * 1000, 1),
                    "client_cpu_ms": round((time.process_time() - client_cpu) * 1000, 1),
                }
            )
            hub.round = -1
            await asyncio.sleep(0.3)
    return {
        "rounds": per_round,
        # the publishing request's round trip (commit included), which every poke's
        # latency contains: what is left above it is the fan-out
        "publish_ms_p50": common.pct([r["publish_ms"] for r in per_round], 50),
        "latency": common.summary(hub.latencies),
        "missed": sum(r["expected"] - r["received"] for r in per_round),
        "server_cpu_seconds_during_publishes": common.cpu_seconds(pid) - cpu0,
        "client_cpu_seconds_during_publishes": time.process_time() - mine0,
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
    }


async def measure(url: str, port: int, tokens: list[str], lead: str, rounds: int, pid: int):
    hub = Hub()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    out: dict[str, Any] = {"server_rss_idle_mb": common.rss_mb(pid)}
    try:
        for n in SIZES:
            seconds = await connect(hub, port, tokens, n, stop, tasks)
            await asyncio.sleep(1.0)
            res = await rounds_of(hub, url, lead, rounds, pid)
            res.update(streams=n, connected=sum(s.hello.is_set() for s in hub.streams),
                       connect_seconds=seconds)  # fmt: skip
            if n == max(SIZES):
                out["server_rss_streams_mb"] = common.rss_mb(pid)
            out[str(n)] = res
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return out


def client_loop() -> Any:
    """uvloop's loop factory, or None (asyncio's default loop) when it is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(quick: bool) -> dict[str, Any]:
    n = max(SIZES)
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
            with asyncio.Runner(loop_factory=client_loop()) as runner:
                res = runner.run(measure(server.url, server.port, tokens, lead, rounds,
                                         server.process.pid))  # fmt: skip
            res["client_loop"] = "uvloop" if client_loop() is not None else "asyncio"
        finally:
            server.stop()
    rows = []
    for size, limit_ms in ((200, 50), (2_000, 1000)):
        part = res[str(size)]
        lat = part["latency"]
        per_round_client = 1000 * part["client_cpu_seconds_during_publishes"] / rounds
        per_round_server = 1000 * part["server_cpu_seconds_during_publishes"] / rounds
        rows.append(
            common.row(
                f"event fan-out to {size:,} SSE clients (publish -> received)",
                {k: lat.get(k) for k in ("n", "p50", "p99", "min", "max")},
                None,
                figure="p50/p99",
                target=f"p99 < {limit_ms:,} ms",
                met=bool(lat.get("n")) and lat["p99"] < limit_ms and part["missed"] == 0,
                note=f"{part['connected']} of {size} streams up in"
                f" {part['connect_seconds']:.1f} s; {rounds} publishes; pokes missed"
                f" {part['missed']}; CPU per publish: server {per_round_server:.0f} ms,"
                f" this benchmark's client {per_round_client:.0f} ms",
            )
        )
    rows.append(
        common.row(
            "memory: server with 2,000 streams",
            {"rss_mb": round(res["server_rss_streams_mb"], 1)},
            {"rss_mb_no_streams": round(res["server_rss_idle_mb"], 1)},
            figure="RSS",
            target="report",
            note="VmRSS of the server process, 1 s after the last stream connected",
        )
    )
    return {"rows": rows, "details": res}


if __name__ == "__main__":
    common.main("bench_fanout", run)
