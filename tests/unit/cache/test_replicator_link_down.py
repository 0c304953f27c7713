"""While the link is down, local saves keep the replicator's backoff: a burst of offline
saves must not become a burst of connection attempts competing with the next save."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from offline_cache import open_cache
from offline_cache.replicator import Replicator


class RefusingPeer:
    """A loopback TCP peer that accepts and hangs up at once, counting the attempts."""

    def __init__(self) -> None:
        self.attempts = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> RefusingPeer:
        self.server = await asyncio.start_server(self._hang_up, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _hang_up(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.attempts += 1
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _until(check: object, seconds: float) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_offline_saves_keep_the_backoff_and_an_explicit_sync_still_retries() -> None:
    store = open_cache("link-down")
    store.set_identity("alice", "east", "agent")
    async with RefusingPeer() as peer:
        rep = Replicator(store, peer.url, token="t", listen=False, backoff_cap=60.0)
        runner = asyncio.create_task(rep.run())
        try:
            assert await _until(lambda: peer.attempts >= 1, 10), "the first sync attempt"
            for i in range(40):
                store.create_ticket(
                    {"caller_name": "张三", "phone": "13800138000", "account": f"停水 {i}"},
                    call_started_at=datetime.now(UTC),
                )
                rep.saved_locally()
                await asyncio.sleep(0.05)
            # 40 saves in ~2 s: the backoff (0.5 s, 1 s, 2 s, ...) allows a handful of tries;
            # a retry per save would be ~40.
            assert peer.attempts <= 10, peer.attempts
            assert store.outbox_stats().size == 40  # every save kept for the link's return
            before = peer.attempts
            rep.poke()  # the agent pressed "sync": try now, whatever the backoff
            assert await _until(lambda: peer.attempts > before, 5), "the explicit retry"
        finally:
            await rep.stop()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(runner, 10)
            store.close()
