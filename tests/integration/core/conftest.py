"""A real `hotline-server` process (migrated, users added through its CLI) per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.databases import fresh_postgres_database
from tests.support.server import RunningServer, start_server

PASSWORD = "correct horse battery"
USERS = {
    "amy": ("agent", PASSWORD),
    "bob": ("agent", PASSWORD),
    "lee": ("lead", PASSWORD),
    "ada": ("admin", PASSWORD),
}

TELEPHONY_TOKEN = "phone-system-secret-0123456789"
SERVER_ENV = {"HOTLINE_TELEPHONY_TOKEN": TELEPHONY_TOKEN}


class Api:
    """Signed-in HTTP clients for a running server."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.url = server.url
        self._tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self._tokens:
            r = httpx.post(self.url + "/api/v1/auth/login",
                           json={"username": user, "password": PASSWORD})  # fmt: skip
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]

    def client(self, user: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 30), **kw)

    def push(self, user: str, client_id: str, mutations: list[dict[str, Any]]) -> httpx.Response:
        with self.client(user) as c:
            return c.post(
                "/api/v1/sync/push", json={"client_id": client_id, "mutations": mutations}
            )

    def pull_all(self, user: str, client_id: str | None = None) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        cursor = 0
        with self.client(user) as c:
            for _ in range(1000):
                params: dict[str, Any] = {"cursor": cursor, "limit": 100}
                if client_id:
                    params["client_id"] = client_id
                body = c.get("/api/v1/sync/pull", params=params).json()
                changes += body["changes"]
                cursor = body["cursor"]
                if not body["has_more"]:
                    break
        return changes


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per test module and kind: starting a server costs seconds, and tests
    here keep to their own client ids and tickets, so they share one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'server.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def api(module_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    server = start_server(module_db, tmp_path_factory.mktemp("server"), users=USERS,
                          extra_env=SERVER_ENV)  # fmt: skip
    try:
        yield Api(server)
    finally:
        server.stop()


def new_id() -> str:
    from hotline.ids import uuid7

    return uuid7()


def mutation(mid: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"mutation_id": mid, "name": name, "args": args,
            "client_time": datetime.now(UTC).isoformat()}  # fmt: skip


def ticket_args(phone: str = "13800138000", **kw: Any) -> dict[str, Any]:
    started = datetime.now(UTC) - timedelta(minutes=3)
    return {
        "id": new_id(),
        "call_started_at": started.isoformat(),
        "created_at": (started + timedelta(minutes=2)).isoformat(),
        "caller_name": "张三",
        "phone": phone,
        "district": "徐汇区",
        "account": "来电咨询核酸检测点开放时间。",
        # 答复内容: required when answered on the spot (an explicit answer= wins)
        **({"answer": "已告知开放时间。"} if kw.get("disposition") == "on_spot" else {}),
        **kw,
    }


def client_id() -> str:
    return str(uuid.uuid4())
