"""A running `hotline-server` process with agents, a lead, an admin and a telephony token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import RunningServer, free_port, server_cli, start_server

PASSWORD = "correct horse battery"
TELEPHONY_TOKEN = "phone-system-secret-0123456789"
USERS = {
    "amy": ("agent", PASSWORD),
    "bob": ("agent", PASSWORD),
    "lee": ("lead", PASSWORD),
    "ada": ("admin", PASSWORD),
}
LIVE_ENV = {
    "HOTLINE_TELEPHONY_TOKEN": TELEPHONY_TOKEN,
    "HOTLINE_LIVE_HEARTBEAT_SECONDS": "1",
    "HOTLINE_LIVE_LINK_DOWN_SECONDS": "3",
    "HOTLINE_LIVE_ESCALATION_SECONDS": "0.5",
}


class Live:
    """A started server and signed-in clients for it."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.url = server.url
        self._tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self._tokens:
            r = httpx.post(
                self.url + "/api/v1/auth/login", json={"username": user, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def client(self, user: str | None = None) -> httpx.Client:
        headers = self.h(user) if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)

    def phone(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {TELEPHONY_TOKEN}"},
            timeout=15,
        )


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Live]:
    server = start_server(database_url, tmp_path, users=USERS, extra_env=LIVE_ENV)
    try:
        yield Live(server)
    finally:
        server.stop()


async def read_events(
    url: str,
    token: str,
    *,
    until: Any,
    last_id: str | None = None,
    timeout: float = 10.0,
) -> list[tuple[str, dict[str, Any], str]]:
    """Read the event stream until ``until(events)`` is true; bounded by ``timeout``."""
    from httpx_sse import aconnect_sse

    got: list[tuple[str, dict[str, Any], str]] = []
    headers = {"Authorization": f"Bearer {token}"}
    if last_id:
        headers["Last-Event-ID"] = last_id
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:

        async def run() -> None:
            async with aconnect_sse(client, "GET", "/api/v1/events", headers=headers) as src:
                async for sse in src.aiter_sse():
                    got.append((sse.event, json.loads(sse.data), sse.id))
                    if until(got):
                        return

        await asyncio.wait_for(run(), timeout)
    return got


__all__ = ["Live", "free_port", "read_events", "server_cli"]
