"""A fault-injecting TCP proxy on loopback, between a client and the real server.

It knows nothing of HTTP beyond the turn-taking of a keep-alive connection: bytes from the
client start a request, the first bytes back start its response. That is enough to inject
the failures SYNC.md names, per response:

- ``DROP_RESPONSE``: the request reached the server and it answered (so it COMMITTED), but the
  answer never reaches the client: the connection is cut instead;
- ``RESET_MID_BODY``: half of the answer's first chunk arrives, then a TCP reset;
- ``DELAY`` (``delay_seconds``): the answer arrives late (client timeouts);

and per link state (``set_link``): ``UP``; ``DOWN`` (connections refused/reset at once, open
ones cut); ``BLACKHOLE`` (connections accepted, bytes swallowed, nothing ever answers: the
client must rely on its timeouts); ``flap(period)`` alternates UP/DOWN.

Runs its own event loop in a daemon thread, so sync tests, async tests and child processes
can all use it. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum


class Fault(StrEnum):
    PASS = "pass"
    DROP_RESPONSE = "drop_response"
    RESET_MID_BODY = "reset_mid_body"
    DELAY = "delay"


class Link(StrEnum):
    UP = "up"
    DOWN = "down"
    BLACKHOLE = "blackhole"


@dataclass
class Counters:
    connections: int = 0
    requests: int = 0  # requests forwarded to the server (a response may never come back)
    refused: int = 0
    responses: int = 0
    dropped: int = 0
    resets: int = 0
    delayed: int = 0
    blackholed: int = 0


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a dying middlebox or peer would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class FaultProxy:
    target_port: int
    target_host: str = "127.0.0.1"
    delay_seconds: float = 2.0
    seed: int = 0
    counters: Counters = field(default_factory=Counters)

    def __post_init__(self) -> None:
        self.port = 0
        self._link = Link.UP
        self._plan: deque[Fault] = deque()
        self._fault_rate = 0.0
        self._rate_faults: tuple[Fault, ...] = (Fault.DROP_RESPONSE, Fault.RESET_MID_BODY)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._flapper: threading.Thread | None = None
        self._flapping = threading.Event()

    # ------------------------------------------------------------ control (any thread)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="faultproxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        self.stop_flapping()
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._open):
                w.transport.abort()
            # end every connection's task too, so none is left pending when the loop closes
            me = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not me]
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def set_link(self, link: Link) -> None:
        """Change the link. DOWN also resets every open connection; BLACKHOLE leaves them
        open but silent in both directions (only the client's timeouts can end them)."""
        with self._lock:
            self._link = link
        if link == Link.DOWN:
            self.cut_all()

    @property
    def link(self) -> Link:
        return self._link

    def cut_all(self) -> None:
        loop = self._loop
        if loop is None:
            return

        def cut() -> None:
            for w in list(self._open):
                _rst(w)

        loop.call_soon_threadsafe(cut)

    def plan(self, *faults: Fault) -> None:
        """Faults for the next responses, in order (then PASS, or the random rate)."""
        with self._lock:
            self._plan.extend(faults)

    def fault_rate(self, rate: float, faults: tuple[Fault, ...] | None = None) -> None:
        """Give each response (after the plan) a fault with probability ``rate`` (seeded)."""
        with self._lock:
            self._fault_rate = rate
            if faults:
                self._rate_faults = faults

    def flap(self, period: float) -> None:
        """Alternate DOWN and UP every ``period`` seconds until :meth:`stop_flapping`."""
        self.stop_flapping()
        self._flapping.set()

        def run() -> None:
            up = False
            deadline = time.monotonic() + 600  # bounded, whatever the test does
            while self._flapping.is_set() and time.monotonic() < deadline:
                self.set_link(Link.UP if up else Link.DOWN)
                up = not up
                time.sleep(period)

        self._flapper = threading.Thread(target=run, name="faultproxy-flap", daemon=True)
        self._flapper.start()

    def stop_flapping(self) -> None:
        if self._flapper is not None:
            self._flapping.clear()
            self._flapper.join(5)
            self._flapper = None

    def heal(self) -> None:
        """Back to a clean link: UP, no plan, no random faults, no flapping."""
        self.stop_flapping()
        with self._lock:
            self._plan.clear()
            self._fault_rate = 0.0
        self.set_link(Link.UP)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ the loop side

    def _next_fault(self) -> Fault:
        with self._lock:
            if self._plan:
                return self._plan.popleft()
            if self._fault_rate and self._rng.random() < self._fault_rate:
                return self._rng.choice(self._rate_faults)
        return Fault.PASS

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        link = self._link
        if link == Link.DOWN:
            self.counters.refused += 1
            _rst(writer)
            return
        self._open.add(writer)
        try:
            if link == Link.BLACKHOLE:
                self.counters.blackholed += 1
                await self._swallow(reader)
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(
                    asyncio.open_connection(self.target_host, self.target_port), 5
                )
            except (OSError, TimeoutError):
                _rst(writer)
                return
            self._open.add(up_writer)
            await self._pump(reader, writer, up_reader, up_writer)
        finally:
            self._open.discard(writer)
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def _swallow(self, reader: asyncio.StreamReader) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            chunk = await reader.read(65536)
            if not chunk:
                return

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        # state shared by both directions: is a response due (a request was sent)?
        state = {"awaiting": False}

        async def upstream() -> None:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                if self._link == Link.BLACKHOLE:
                    continue  # swallowed
                if not state["awaiting"]:
                    self.counters.requests += 1
                state["awaiting"] = True
                up_writer.write(chunk)
                await up_writer.drain()

        async def downstream() -> None:
            while True:
                chunk = await up_reader.read(65536)
                if not chunk:
                    return
                if state["awaiting"]:
                    state["awaiting"] = False
                    self.counters.responses += 1
                    fault = self._next_fault()
                    if fault == Fault.DROP_RESPONSE:
                        self.counters.dropped += 1
                        _rst(writer)
                        return
                    if fault == Fault.RESET_MID_BODY:
                        self.counters.resets += 1
                        writer.write(chunk[: max(1, len(chunk) // 2)])
                        with contextlib.suppress(Exception):
                            await writer.drain()
                        _rst(writer)
                        return
                    if fault == Fault.DELAY:
                        self.counters.delayed += 1
                        await asyncio.sleep(self.delay_seconds)
                if self._link == Link.BLACKHOLE:
                    continue  # swallowed
                if self._link == Link.DOWN:
                    _rst(writer)
                    return
                writer.write(chunk)
                await writer.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except Exception:
            pass
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
            self._open.discard(up_writer)
            with contextlib.suppress(Exception):
                up_writer.transport.abort()
