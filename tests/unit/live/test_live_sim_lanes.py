"""The simulator's HTTP client: a fixed set of keep-alive connections, one request on each at
a time, against a loopback HTTP/1.1 listener that records what reached it."""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

import httpcore._synchronization as httpcore_sync

from hotline_server.live.simulator import Lanes, _fail_sniffio_imports_fast


class Listener:
    """Answers every request with 200 after a short pause (so requests overlap); records the
    client port of each request and the most requests in flight at once."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("peername")[1]
        try:
            for _ in range(1000):  # requests on this connection (bounded)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                self.ports.append(port)
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                await asyncio.sleep(0.01)
                self.in_flight -= 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_lanes_keep_n_connections_with_one_request_each() -> None:
    listener = Listener()
    url = await listener.start()
    lanes = Lanes(url, 3, timeout=10.0)
    try:
        answers = await asyncio.gather(
            *(lanes.request("POST", "/x", json={"i": i}) for i in range(30))
        )
    finally:
        await lanes.aclose()
        await listener.stop()
    assert [r.status_code for r in answers] == [200] * 30
    assert len(listener.ports) == 30
    assert len(set(listener.ports)) == 3  # kept alive and reused: three connections in all
    assert listener.most_in_flight == 3  # and never more than three requests at once


class _Recorder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        self.asked.append(fullname)
        return None


async def test_httpcore_stops_searching_for_a_missing_sniffio_on_every_lock() -> None:
    if "sniffio" in sys.modules and sys.modules["sniffio"] is not None:
        return  # installed: httpcore imports it once, there is nothing to search for
    recorder = _Recorder()
    had = "sniffio" in sys.modules
    sys.meta_path.insert(0, recorder)
    try:
        sys.modules.pop("sniffio", None)
        assert httpcore_sync.current_async_library() == "asyncio"
        searched_before = recorder.asked.count("sniffio")
        _fail_sniffio_imports_fast()
        recorder.asked.clear()
        for _ in range(5):
            assert httpcore_sync.current_async_library() == "asyncio"
        assert searched_before == 1  # without the marker: a search of sys.path per call
        assert recorder.asked.count("sniffio") == 0
    finally:
        sys.meta_path.remove(recorder)
        if not had:
            sys.modules.pop("sniffio", None)
