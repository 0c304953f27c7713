"""A loopback TCP relay between the demo desk and the demo server, which can be cut.

``agent-tui demo --cut-link`` (or the demo's key) writes a deadline into a control file;
until then the relay closes every open connection and refuses new ones, exactly what a
dropped home broadband line looks like to the desk: requests fail, the event stream ends,
and the desk works on from its cache until the link returns and the outbox drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from pathlib import Path

CHUNK = 64 * 1024
CONTROL_POLL_SECONDS = 0.2


def cut_link(control_file: Path, seconds: float) -> float:
    """Cut the link for ``seconds`` from now; returns the wall-clock time it comes back."""
    until = time.time() + seconds
    tmp = control_file.with_suffix(".tmp")
    tmp.write_text(f"{until:.3f}\n", encoding="utf-8")
    tmp.replace(control_file)
    return until


def cut_until(control_file: Path) -> float:
    """The time the link comes back, or 0 when it is up (no file, or a broken one)."""
    try:
        return float(control_file.read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        return 0.0


class LinkRelay:
    """Relays 127.0.0.1:listen_port to 127.0.0.1:target_port in a thread of its own."""

    def __init__(self, target_port: int, control_file: Path) -> None:
        self.target_port = target_port
        self.control_file = control_file
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def is_cut(self) -> bool:
        return cut_until(self.control_file) > time.time()

    def start(self, timeout: float = 10.0) -> int:
        self._thread = threading.Thread(target=self._run, name="demo-link", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the demo link relay did not start")
        return self.port

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        watcher = asyncio.create_task(self._watch_cuts())
        async with server:
            await self._stop.wait()
        watcher.cancel()
        self._close_all()

    async def _watch_cuts(self) -> None:
        while True:
            if self.is_cut():
                self._close_all()
            await asyncio.sleep(CONTROL_POLL_SECONDS)

    def _close_all(self) -> None:
        for writer in list(self._open):
            writer.close()
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A connection still open when the relay stops is cancelled; end quietly instead of
        # letting asyncio log the cancellation of every handler as an error.
        with contextlib.suppress(asyncio.CancelledError):
            await self._relay(reader, writer)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut():
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._open.discard(w)
                w.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.write_eof()
