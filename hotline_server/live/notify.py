"""Signals between server instances: PostgreSQL LISTEN/NOTIFY, or in-process on SQLite.

Instances share nothing but the database. A write on instance B publishes a small JSON
signal (``{"k": "poke", "seq": 42}``, ``{"k": "offer", ...}``, ``{"k": "dirty"}``); every
instance LISTENs and hands the signal to its own subscribers. On SQLite there is one
instance, so signals go straight to the local handler.

While the listening connection is down (database restart), signals are handled locally and
the listener reconnects with backoff; on reconnect every local subscriber gets a poke, since
notifications sent meanwhile are lost (a poke only ever means "pull now").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("hotline_server.live")

CHANNEL = "hotline_live"
MAX_PAYLOAD = 7900  # PostgreSQL's NOTIFY payload limit is 8000 bytes

Handler = Callable[[dict[str, Any]], None]


def libpq_url(database_url: str) -> str | None:
    """The psycopg (libpq) form of a PostgreSQL SQLAlchemy URL; None for other databases."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Notifier:
    def __init__(self, database_url: str, handler: Handler) -> None:
        self.pg_url = libpq_url(database_url)
        self.handler = handler
        self.listening = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.on_reconnect: Callable[[], None] | None = None

    @property
    def distributed(self) -> bool:
        return self.pg_url is not None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._outbox = asyncio.Queue()
        if self.pg_url is not None:
            self._tasks.append(asyncio.create_task(self._listen(), name="live-listen"))
            self._tasks.append(asyncio.create_task(self._send(), name="live-notify"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    # ------------------------------------------------------------ publish

    def publish(self, msg: dict[str, Any]) -> None:
        """Thread-safe: callable from request threads and from the event loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._publish_in_loop(msg)
        else:
            loop.call_soon_threadsafe(self._publish_in_loop, msg)

    def _publish_in_loop(self, msg: dict[str, Any]) -> None:
        if self.pg_url is None or not self.listening or self._outbox is None:
            self._handle(msg)
            return
        self._outbox.put_nowait(msg)

    def _handle(self, msg: dict[str, Any]) -> None:
        try:
            self.handler(msg)
        except Exception:  # a bad signal must never kill the listener
            log.exception("live signal handler failed for %r", msg)

    # ------------------------------------------------------------ PostgreSQL

    async def _send(self) -> None:
        import psycopg

        assert self._outbox is not None and self.pg_url is not None
        conn: psycopg.AsyncConnection[Any] | None = None
        while True:
            msg = await self._outbox.get()
            batch = [msg]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            batch = _coalesce(batch)
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(self.pg_url, autocommit=True)
                for m in batch:
                    payload = json.dumps(m, separators=(",", ":"))
                    if len(payload.encode()) > MAX_PAYLOAD:
                        payload = json.dumps({"k": "dirty"})
                    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
            except Exception:
                log.warning("NOTIFY failed; handling %d signals locally", len(batch))
                for m in batch:
                    self._handle(m)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                conn = None

    async def _listen(self) -> None:
        import psycopg

        assert self.pg_url is not None
        delay = 0.2
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.pg_url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    delay = 0.2
                    if not first and self.on_reconnect is not None:
                        self.on_reconnect()
                    first = False
                    async for note in conn.notifies():
                        try:
                            msg = json.loads(note.payload)
                        except ValueError:
                            continue
                        if isinstance(msg, dict):
                            self._handle(msg)
            except asyncio.CancelledError:
                self.listening = False
                raise
            except Exception as exc:
                self.listening = False
                log.warning("LISTEN connection lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 10.0)


def _coalesce(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Many pokes in a row become one with the highest seq; repeated 'dirty' become one."""
    out: list[dict[str, Any]] = []
    top_seq: int | None = None
    dirty = False
    for m in batch:
        if m.get("k") == "poke":
            seq = int(m.get("seq", 0))
            top_seq = seq if top_seq is None else max(top_seq, seq)
        elif m.get("k") == "dirty":
            dirty = True
        else:
            out.append(m)
    if top_seq is not None:
        out.append({"k": "poke", "seq": top_seq})
    if dirty:
        out.append({"k": "dirty"})
    return out
