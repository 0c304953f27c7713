"""Fan-out through the real server: one publish reaches every open stream exactly once.

Many streams of several users (an agent may have more than one window) are open; a shift
lead publishes a knowledge-base article, a change every desk may see. Every stream gets one
poke for it, all with the same event id (one event per publish, encoded once), and idle
streams go on getting heartbeats from the hub's single heartbeat task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx

from tests.integration.live.conftest import Live

STREAMS = {"amy": 6, "bob": 4, "lee": 3}
BOUND = 30.0  # seconds: every wait below ends by then


async def _stream(url: str, token: str, got: list[tuple[str, dict[str, Any], str]]) -> None:
    from httpx_sse import aconnect_sse

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=url, timeout=BOUND) as client,
        aconnect_sse(client, "GET", "/api/v1/events", headers=headers) as src,
    ):
        async for sse in src.aiter_sse():
            got.append((sse.event, json.loads(sse.data), sse.id))


async def _until(check: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND
    while not check():
        assert loop.time() < deadline, f"not within {BOUND} s: {what}"
        await asyncio.sleep(0.05)


async def test_one_publish_reaches_every_stream_once(live: Live) -> None:
    streams: list[list[tuple[str, dict[str, Any], str]]] = []
    tasks = []
    for user, n in STREAMS.items():
        token = live.token(user)
        for _ in range(n):
            got: list[tuple[str, dict[str, Any], str]] = []
            streams.append(got)
            tasks.append(asyncio.create_task(_stream(live.url, token, got)))
    try:
        await _until(lambda: all(any(e[0] == "hello" for e in s) for s in streams), "hellos")
        before = [len(s) for s in streams]

        def publish() -> int:
            with live.client("lee") as c:
                r = c.post("/api/v1/kb", json={"title": "停水通知", "body": "黄浦区部分小区停水。",
                                                "tags": ["停水"]})  # fmt: skip
                assert r.status_code in (200, 201), r.text
            return len(r.content)

        await asyncio.to_thread(publish)

        def after(i: int) -> list[tuple[str, dict[str, Any], str]]:
            return streams[i][before[i] :]

        def poked_then_beat(i: int) -> bool:
            events = [e[0] for e in after(i)]
            return "poke" in events and "heartbeat" in events[events.index("poke") :]

        await _until(lambda: all(poked_then_beat(i) for i in range(len(streams))),
                     "a poke, then a heartbeat, on every stream")  # fmt: skip
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
    first_pokes = []
    for i in range(len(streams)):
        pokes = [e for e in after(i) if e[0] == "poke"]
        ids = [e[2] for e in pokes]
        assert len(ids) == len(set(ids)), f"stream {i} got an event twice: {ids}"
        first_pokes.append(pokes[0])
    assert len({p[2] for p in first_pokes}) == 1  # one event, one id, for every stream
    assert len({p[1]["seq"] for p in first_pokes}) == 1
