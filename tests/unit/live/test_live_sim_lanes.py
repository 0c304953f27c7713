"""The simulator's HTTP client: a fixed set of keep-alive connections, one request on each at
a time, against a loopback HTTP/1.1 listener that records what reached it."""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from hotline_server.live.simulator import Lanes


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


async def test_requests_after_the_first_search_the_import_path_for_nothing() -> None:
    """httpcore imports sniffio for every lock and event of an async request (the desk's
    replicator, the simulator's lanes). sniffio is a dependency, so each is a look-up in
    sys.modules; were it missing, each would be a failed import searching sys.path again."""
    listener = Listener()
    url = await listener.start()
    lanes = Lanes(url, 2, timeout=10.0)
    recorder = _Recorder()
    try:
        await asyncio.gather(*(lanes.request("GET", "/warm") for _ in range(2)))
        sys.meta_path.insert(0, recorder)
        try:
            answers = await asyncio.gather(*(lanes.request("GET", "/x") for _ in range(10)))
        finally:
            sys.meta_path.remove(recorder)
    finally:
        await lanes.aclose()
        await listener.stop()
    assert [r.status_code for r in answers] == [200] * 10
    assert recorder.asked == []
