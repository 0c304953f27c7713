"""The event stream over real HTTP: Last-Event-ID resume and back-pressure on a slow client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.live.conftest import LIVE_ENV, USERS, Live, read_events
from tests.integration.live.test_live_server import ev, mutation, push, ticket_args
from tests.support.server import start_server

Got = list[tuple[str, dict[str, Any], str]]


def change_seq(live: Live, user: str, ticket_id: str) -> int:
    """The change-log seq of ``ticket_id`` as ``user`` pulls it."""
    with live.client(user) as c:
        body = c.get("/api/v1/sync/pull", params={"cursor": 0}).json()
    seqs = [c["seq"] for c in body["changes"] if c["entity_id"] == ticket_id]
    assert seqs, body
    return int(max(seqs))


async def test_resume_replays_the_event_missed_while_disconnected(live: Live) -> None:
    token = await asyncio.to_thread(live.token, "amy")

    def poked(got: Got) -> bool:
        return any(k == "poke" and i for k, _, i in got)

    # connected: bob's change pokes amy's stream; remember the id of that poke
    reader = asyncio.create_task(read_events(live.url, token, until=poked))
    await asyncio.sleep(0.5)
    first = ticket_args("13600000101", datetime.now(UTC))
    await asyncio.to_thread(push, live, "bob", str(uuid.uuid4()),
                            [mutation(1, "create_ticket", first)])  # fmt: skip
    got = await reader  # the stream is closed here: amy's desk is offline
    last_id = next(i for k, _, i in got if k == "poke" and i)

    # while amy is away, bob changes another ticket
    second = ticket_args("13600000102", datetime.now(UTC))
    await asyncio.to_thread(push, live, "bob", str(uuid.uuid4()),
                            [mutation(1, "create_ticket", second)])  # fmt: skip
    missed_seq = await asyncio.to_thread(change_seq, live, "amy", second["id"])

    # back with Last-Event-ID: the poke she missed comes at once, with its own id
    got = await read_events(live.url, token, until=poked, last_id=last_id, timeout=10)
    assert got[0][0] == "hello"
    kind, data, event_id = got[1]
    assert kind == "poke" and event_id
    instance, _, n = event_id.partition("-")
    assert instance == last_id.partition("-")[0]  # the same server: an exact resume
    assert int(n) > int(last_id.partition("-")[2])
    assert data["seq"] >= missed_seq


# ---------------------------------------------------------------- back-pressure

QUEUE_SIZE = 4
OFFERS = 120  # each ~60 kB (five tickets with long accounts): more than the socket buffers hold
CALLER = "13700000555"


@pytest.fixture
def tiny_queue_live(database_url: str, tmp_path: Path) -> Iterator[Live]:
    env = {**LIVE_ENV, "HOTLINE_LIVE_QUEUE_SIZE": str(QUEUE_SIZE)}
    server = start_server(database_url, tmp_path, users=USERS, extra_env=env)
    try:
        yield Live(server)
    finally:
        server.stop()


def slow_stream(url: str, token: str) -> socket.socket:
    """Open the event stream on a socket with a tiny receive buffer and never read it."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    request = (
        f"GET /api/v1/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
        "Connection: close\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock


def drain(sock: socket.socket, seconds: float = 60.0, limit: int = 64 << 20) -> bytes:
    """Everything the server sent until it closed the connection (bounded in time and size)."""
    data = bytearray()
    deadline = time.monotonic() + seconds
    sock.settimeout(5)
    while time.monotonic() < deadline and len(data) < limit:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        if not chunk:
            return bytes(data)
        data += chunk
    raise AssertionError(f"the slow stream was not closed ({len(data)} bytes read)")


async def test_a_slow_client_is_dropped_while_another_gets_everything(
    tiny_queue_live: Live,
) -> None:
    live = tiny_queue_live
    token = await _amy_ready_for_big_offers(live)
    slow = await asyncio.to_thread(slow_stream, live.url, token)
    fast: Got = []
    fast_task = asyncio.create_task(_read_events(live, token, fast))
    try:
        await _offer_in_lockstep(live, fast, "flood", OFFERS)
        offers = [d["call_id"] for k, d, _ in fast if k == "call_offer"]
        assert offers == [f"flood-{n}" for n in range(OFFERS)]
        assert not fast_task.done()  # still connected: never dropped
    finally:
        fast_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await fast_task
    raw = await asyncio.to_thread(drain, slow)
    slow.close()
    received = raw.count(b"event: call_offer")
    print(f"slow client: {received} of {OFFERS} offers before it was dropped, {len(raw)} bytes")
    assert raw.startswith(b"HTTP/1.1 200")
    assert 0 < received < OFFERS  # it fell behind, was dropped, and its stream ended


# ---------------------------------------------------------------- a client that stops reading

SEND_TIMEOUT = 1.0  # seconds: HOTLINE_LIVE_SEND_TIMEOUT_SECONDS of the server below
STUCK_OFFERS = 200  # ~12 MB of offers: far more than the socket buffers of a stuck client


@pytest.fixture
def short_timeout_live(database_url: str, tmp_path: Path) -> Iterator[Live]:
    # the default mailbox (256 events) holds every offer: the stuck stream is not dropped
    # for falling behind, it is cut off because its socket takes no bytes
    env = {**LIVE_ENV, "HOTLINE_LIVE_SEND_TIMEOUT_SECONDS": str(SEND_TIMEOUT)}
    server = start_server(database_url, tmp_path, users=USERS, extra_env=env)
    try:
        yield Live(server)
    finally:
        server.stop()


async def test_a_client_that_stops_reading_is_cut_off_and_another_gets_everything(
    short_timeout_live: Live,
) -> None:
    live = short_timeout_live
    token = await _amy_ready_for_big_offers(live)
    stuck = await asyncio.to_thread(slow_stream, live.url, token)  # never read until the end
    fast: Got = []
    fast_task = asyncio.create_task(_read_events(live, token, fast))
    try:
        await _offer_in_lockstep(live, fast, "stuck", STUCK_OFFERS)
        # the stuck stream's last send has now waited longer than the send timeout
        await asyncio.sleep(SEND_TIMEOUT + 2.0)
        offers = [d["call_id"] for k, d, _ in fast if k == "call_offer"]
        assert offers == [f"stuck-{n}" for n in range(STUCK_OFFERS)]
        assert not fast_task.done()  # still connected
    finally:
        fast_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await fast_task
    # reading now gets what was already on its way, then the end: the server let it go
    raw = await asyncio.to_thread(drain, stuck)
    stuck.close()
    received = raw.count(b"event: call_offer")
    print(f"stuck client: {received} of {STUCK_OFFERS} offers before it was cut off")
    assert raw.startswith(b"HTTP/1.1 200")
    assert received < STUCK_OFFERS


# ---------------------------------------------------------------- server stop


async def test_stopping_the_server_ends_open_streams_cleanly(live: Live) -> None:
    """uvicorn waits for open responses before it stops; the event streams end at once on
    SIGTERM, each with the closing chunk of a complete response."""
    import signal

    token = await asyncio.to_thread(live.token, "amy")
    sock = await asyncio.to_thread(slow_stream, live.url, token)
    head = bytearray()
    for _ in range(200):  # until hello (bounded: 200 reads or the socket's 10 s timeout)
        head += await asyncio.to_thread(sock.recv, 1 << 16)
        if b"event: hello" in head:
            break
    assert b"event: hello" in head
    process = live.server.process
    assert process is not None
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 20)
    raw = bytes(head) + await asyncio.to_thread(drain, sock)
    sock.close()
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has stopped
    assert raw.endswith(b"\r\n0\r\n\r\n")  # the last chunk: the response was completed


async def _offer_in_lockstep(live: Live, fast: Got, prefix: str, count: int) -> None:
    """Once the fast stream said hello (and the other had as long to subscribe), offer
    ``count`` calls to amy, each only after the fast client got the one before (lockstep)."""
    for _ in range(100):
        if any(k == "hello" for k, *_ in fast):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    now = datetime.now(UTC)
    with live.phone() as phone:
        for n in range(count):
            call = f"{prefix}-{n}"
            events = [
                ev(f"{call}-o", "offered", call, now, caller_number=CALLER, queue="general"),
                ev(f"{call}-s", "offered_to_seat", call, now, agent="amy"),
            ]
            r = await asyncio.to_thread(phone.post, "/api/v1/telephony/events",
                                        json={"events": events})  # fmt: skip
            assert r.status_code == 200, r.text
            for _ in range(400):
                if any(k == "call_offer" and d["call_id"] == call for k, d, _ in fast):
                    break
                await asyncio.sleep(0.025)
            else:
                raise AssertionError(f"the fast client never got the offer of {call}")


async def _amy_ready_for_big_offers(live: Live) -> str:
    """bob's five tickets of ~3,900 characters from CALLER (every offer of a call from that
    number carries them: big events), amy ready (calls go to ready seats only); her token."""
    long_account = "市民反映小区封控期间就医困难，" * 260  # ~3,900 characters
    started = datetime.now(UTC) - timedelta(days=1)
    await asyncio.to_thread(push, live, "bob", str(uuid.uuid4()), [
        mutation(i, "create_ticket", ticket_args(CALLER, started + timedelta(minutes=i),
                                                 account=long_account[:4000]))
        for i in range(1, 6)
    ])  # fmt: skip
    token = await asyncio.to_thread(live.token, "amy")
    with live.client("amy") as amy:
        assert amy.put("/api/v1/seats/me", json={"state": "ready"}).status_code == 200
    return token


async def _read_events(live: Live, token: str, into: Got) -> None:
    """A client that reads its event stream as fast as it comes, into ``into``."""
    from httpx_sse import aconnect_sse

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=30) as client,
        aconnect_sse(client, "GET", "/api/v1/events", headers=headers) as src,
    ):
        async for sse in src.aiter_sse():
            into.append((sse.event, json.loads(sse.data), sse.id))
