"""The event-stream response as an ASGI app: what it writes, and how a stream ends (the
client leaves, the server stops, the client stops reading, a HEAD request)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from hotline_server.live.broker import Broker, Subscriber, sse_frame
from hotline_server.live.stream import EventStream

BOUND = 5.0  # seconds: every wait here ends by then


class Client:
    """ASGI receive/send of one connection; ``stop_reading`` makes sends wait forever."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.leave = asyncio.Event()
        self.reading = asyncio.Event()
        self.reading.set()
        self.first = True

    async def receive(self) -> dict[str, Any]:
        if self.first:
            self.first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        await self.reading.wait()
        self.sent.append(message)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    def ended(self) -> bool:
        last = self.sent[-1] if self.sent else {}
        return last.get("type") == "http.response.body" and not last.get("more_body", False)


def stream(broker: Broker, beats: list[bool]) -> EventStream:
    def subscribe() -> Subscriber:
        return broker.subscribe("amy", "agent", None)

    async def frames(sub: Subscriber) -> AsyncGenerator[bytes, None]:
        yield sse_frame("hello", "{}")

    return EventStream(broker, subscribe, frames, lambda beat, now: beats.append(beat))


SCOPE = {"type": "http", "method": "GET", "path": "/api/v1/events", "headers": []}


async def until(check: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND
    while not check():
        assert loop.time() < deadline, "not within the bound"
        await asyncio.sleep(0.005)


async def test_events_go_out_in_order_and_the_stream_ends_when_the_client_leaves() -> None:
    broker = Broker()
    client = Client()
    beats: list[bool] = []
    task = asyncio.create_task(stream(broker, beats)(SCOPE, client.receive, client.send))
    await until(lambda: broker.subscribers)
    start = client.sent[0]
    assert start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    assert not any(k == b"content-length" for k, _ in start["headers"])
    for seq in (1, 2, 3):
        broker.poke(seq)
    await until(lambda: client.body().count(b"event: poke") == 3)
    body = client.body().decode()
    assert body.startswith("event: hello\r\n")
    assert body.index('{"seq":1}') < body.index('{"seq":2}') < body.index('{"seq":3}')
    assert beats and not any(beats)  # events, no heartbeat: the seat is touched as busy
    client.leave.set()
    await asyncio.wait_for(task, BOUND)
    assert not broker.subscribers and not broker.streams
    assert broker.poke(4) == 0


async def test_server_stop_ends_the_stream_with_a_complete_response() -> None:
    broker = Broker()
    client = Client()
    task = asyncio.create_task(stream(broker, [])(SCOPE, client.receive, client.send))
    await until(lambda: broker.subscribers)
    broker.poke(1)
    broker.close_all()
    await asyncio.wait_for(task, BOUND)
    assert b"event: poke" in client.body()  # what it held went out first
    assert client.ended()
    assert not broker.streams


async def test_a_client_that_stops_reading_is_let_go_by_the_watchdog() -> None:
    broker = Broker()
    stuck, fine = Client(), Client()
    t_stuck = asyncio.create_task(stream(broker, [])(SCOPE, stuck.receive, stuck.send))
    t_fine = asyncio.create_task(stream(broker, [])(SCOPE, fine.receive, fine.send))
    await until(lambda: len(broker.subscribers) == 2 and stuck.sent and fine.sent)
    stuck.reading.clear()
    broker.poke(1)
    await until(lambda: b"event: poke" in fine.body())
    (sub,) = [s for s in broker.streams if s.sending_since]
    assert broker.stalled(30.0, now=sub.sending_since + 1.0) == []  # not yet
    assert broker.stalled(30.0, now=sub.sending_since + 30.0) == [sub]
    await asyncio.wait_for(t_stuck, BOUND)  # returns (the server then closes the socket)
    assert not t_stuck.cancelled() and not stuck.ended()
    assert broker.poke(2) == 1
    await until(lambda: fine.body().count(b"event: poke") == 2)
    assert len(broker.streams) == 1
    fine.leave.set()
    await asyncio.wait_for(t_fine, BOUND)


async def test_head_answers_headers_and_subscribes_nobody() -> None:
    broker = Broker()
    client = Client()
    head = {**SCOPE, "method": "HEAD"}
    await asyncio.wait_for(stream(broker, [])(head, client.receive, client.send), BOUND)
    assert client.sent[0]["status"] == 200 and client.ended()
    assert not broker.streams and not broker.subscribers


async def test_a_hello_that_cannot_be_made_fails_before_the_response_starts() -> None:
    """The hello reads the change log: if the database cannot answer, the request fails
    as a whole (the server answers 500) instead of a 200 stream cut short, and the
    subscriber it made is gone."""
    broker = Broker()
    client = Client()

    async def no_database(sub: Subscriber) -> AsyncGenerator[bytes, None]:
        raise ConnectionError("database down")
        yield b""  # an async generator

    response = EventStream(broker, lambda: broker.subscribe("amy", "agent", None),
                           no_database, lambda beat, now: None)  # fmt: skip
    try:
        await asyncio.wait_for(response(SCOPE, client.receive, client.send), BOUND)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failure did not reach the server's error handling")
    assert client.sent == []  # nothing started: the error middleware can still answer 500
    assert not broker.streams and not broker.subscribers
