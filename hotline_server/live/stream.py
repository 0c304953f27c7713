"""The ``GET /api/v1/events`` response: a plain ASGI stream of pre-encoded SSE frames.

Why not sse-starlette's ``EventSourceResponse``: it wraps every send of every stream in a
cancel scope with its own timer (``move_on_after(send_timeout)``) and runs each stream in an
anyio task group of three tasks. With 2,000 streams a publish paid that 2,000 times. Here a
stream is its own task plus one parked disconnect watcher; per event it takes what is waiting
in its mailbox and sends it in one write. The send timeout costs no timer: the stream notes
when a send starts (``Subscriber.sending_since``) and the hub's one watchdog, which already
ticks for heartbeats, ends a stream whose send has not returned in time (``Broker.stalled``).

What the response keeps from before: the headers (``text/event-stream; charset=utf-8``,
``Cache-Control: no-store``, ``Connection: keep-alive``, ``X-Accel-Buffering: no``), the bytes
of every event (:func:`hotline_server.live.broker.sse_frame`), the end of the stream on a
client disconnect, a clean end (closing chunk) when the server stops, and HEAD answered with
headers alone (no stream is opened, so nothing is subscribed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from hotline_server.live.broker import Broker, Subscriber

log = logging.getLogger("hotline_server.live")

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]
# The request of an event stream has no body worth reading: more messages than this before
# the disconnect are treated as one (the loop that waits for it stays bounded).
MAX_REQUEST_MESSAGES = 10_000

Opening = Callable[[Subscriber], AsyncGenerator[bytes, None]]
Alive = Callable[[bool, float], None]


class EventStream(Response):
    """Streams one subscriber's events until the client leaves or the stream is ended.

    ``subscribe`` makes the subscriber (called when the response starts, so a HEAD request
    or a response that never runs subscribes nobody); ``opening`` gives the first frames
    (hello, resume, lead panel), and is called in the same step as ``subscribe`` so that its
    synchronous start (the Last-Event-ID replay) sees no event twice; ``alive(beat, now)`` is
    told before each write whether a heartbeat is in it (the seat touch)."""

    media_type = "text/event-stream"

    def __init__(
        self,
        broker: Broker,
        subscribe: Callable[[], Subscriber],
        opening: Opening,
        alive: Alive,
    ) -> None:
        # not Response.__init__: it would add "content-length: 0" for the empty body
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = list(HEADERS)
        self.broker = broker
        self._subscribe = subscribe
        self._opening = opening
        self._alive = alive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        if scope.get("method", "GET").upper() == "HEAD":
            await send(start)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        task = asyncio.current_task()
        sub = self._subscribe()
        sub.task = task
        frames = self._opening(sub)
        watcher = asyncio.create_task(self._watch(receive, sub), name="live-stream-watch")
        try:
            # the first frame (hello: it reads the change log) before the response starts,
            # so a database that cannot answer is a 500, not a 200 cut short
            first = await anext(frames, b"")
            await self._send(send, sub, start)
            if first:
                await self._send(send, sub, {"type": "http.response.body", "body": first,
                                             "more_body": True})  # fmt: skip
            async for frame in frames:
                await self._send(send, sub, {"type": "http.response.body", "body": frame,
                                             "more_body": True})  # fmt: skip
            await self._pump(send, sub)
            await self._send(send, sub, {"type": "http.response.body", "body": b"",
                                         "more_body": False})  # fmt: skip
        except asyncio.CancelledError:
            # ended by the watchdog: the client took no bytes for the send timeout. Return
            # without the closing chunk (the send would wait again); the server closes the
            # connection. Any other cancellation (server stopping) goes on up.
            if task is None or not sub.timed_out or task.uncancel() > 0:
                raise
            log.info("event stream of %s ended: its client stopped reading", sub.username)
        finally:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await frames.aclose()
            self.broker.unsubscribe(sub)

    async def _send(self, send: Send, sub: Subscriber, message: Message) -> None:
        now = time.monotonic()
        sub.sending_since = now  # the watchdog's clock for this send
        await send(message)
        sub.sending_since = 0.0
        sub.last_sent = now

    async def _pump(self, send: Send, sub: Subscriber) -> None:
        """Until the end marker: wake once, send every frame that waits in one write."""
        box = sub.queue
        alive = self._alive
        while True:
            if box.empty():
                await box.wait()
            frames: list[bytes] = []
            beat = end = False
            for ev in box.take():
                if ev is None:
                    end = True
                    break
                if ev.event == "heartbeat":
                    beat = True
                frames.append(ev.frame)
            if frames:
                now = time.monotonic()
                alive(beat, now)
                sub.sending_since = now
                await send({"type": "http.response.body",
                            "body": frames[0] if len(frames) == 1 else b"".join(frames),
                            "more_body": True})  # fmt: skip
                sub.sending_since = 0.0
                sub.last_sent = now
                sub.sent += len(frames)
            if end:
                return

    async def _watch(self, receive: Receive, sub: Subscriber) -> None:
        """Wait for the client to go; then end the stream (it sends nothing more)."""
        for _ in range(MAX_REQUEST_MESSAGES):
            message = await receive()
            if message["type"] == "http.disconnect":
                break
        self.broker.end(sub)


def server_exiting() -> bool:
    """Whether the uvicorn server running this process has been asked to stop (SIGTERM or
    Ctrl-C). uvicorn waits for open responses to finish before it stops, and an event stream
    never finishes by itself: the hub ends every stream when this turns true. uvicorn installs
    its bound ``handle_exit`` as the signal handler (main thread only); anything else here
    (another server, a test's thread) reads as not exiting."""
    handler: Any = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return bool(getattr(server, "should_exit", False))
