"""The live endpoints in one process, with the core's auth replaced by fixed users.

The integration tests drive the real server process; these exercise the live routes and
the event stream quickly, on real SQLite/PostgreSQL, without the rest of the core.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI, Header

from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.live import api, core, start_hub
from tests.support.server import free_port

USERS = {
    "amy": core.UserInfo("amy", "agent", "north"),
    "lee": core.UserInfo("lee", "lead", None),
    "ada": core.UserInfo("ada", "admin", None),
}


def who(authorization: str = Header(default="")) -> core.UserInfo:
    name = authorization.removeprefix("Bearer ").strip()
    if name not in USERS:
        raise core.problem(401, "not signed in", None)
    return USERS[name]


def role_at_least(*roles: str):  # type: ignore[no-untyped-def]
    def dep(authorization: str = Header(default="")) -> core.UserInfo:
        user = who(authorization)
        if user.role not in roles:
            raise core.problem(403, "not allowed", None)
        return user

    return dep


def telephony(authorization: str = Header(default="")) -> None:
    if authorization != "Bearer phone":
        raise core.problem(401, "bad telephony token", None)


class Servers:
    """Live apps in this process (uvicorn threads) sharing one database, like instances."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.engines: list[sa.Engine] = []
        self.servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(self) -> str:
        upgrade(self.database_url)  # the real schema: core and live migrations
        engine = make_engine(self.database_url)
        self.engines.append(engine)
        app = FastAPI()
        app.include_router(api.router)
        app.state.engine = engine
        app.dependency_overrides[core.current_user] = who
        app.dependency_overrides[core.lead_user] = role_at_least("lead", "admin")
        app.dependency_overrides[core.admin_user] = role_at_least("admin")
        app.dependency_overrides[core.require_telephony] = telephony

        @asynccontextmanager
        async def lifespan(a: Any):  # type: ignore[no-untyped-def]
            hub = start_hub(app)
            await hub.start()
            yield
            await hub.stop()

        app.router.lifespan_context = lifespan
        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not srv.started and time.monotonic() < deadline:
            time.sleep(0.02)
        self.servers.append((srv, thread))
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for srv, _ in self.servers:
            srv.should_exit = True
        for _, thread in self.servers:
            thread.join(10)
        for engine in self.engines:
            engine.dispose()


@pytest.fixture
def servers(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    monkeypatch.setenv("HOTLINE_LIVE_HEARTBEAT_SECONDS", "0.5")
    s = Servers(database_url)
    yield s
    s.stop()


@pytest.fixture
def server(servers: Servers) -> str:
    return servers.start()


def h(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {user}"}


NOW = datetime.now(UTC)


def ev(eid: str, type_: str, call: str, sec: float, **kw: Any) -> dict[str, Any]:
    return {
        "event_id": eid,
        "type": type_,
        "call_id": call,
        "at": (NOW + timedelta(seconds=sec)).isoformat(),
        **kw,
    }


def test_telephony_seats_and_metrics(server: str) -> None:
    with httpx.Client(base_url=server) as c:
        assert c.post("/api/v1/telephony/events", json={"events": []}).status_code in (401, 422)
        body = {
            "events": [
                ev("e1", "offered", "c1", -60, caller_number="13800000001", queue="general"),
                ev("e2", "offered_to_seat", "c1", -55, agent="amy"),
                ev("e4", "ended", "c1", -10, agent="amy"),
            ]
        }
        r = c.post("/api/v1/telephony/events", json=body, headers=h("phone"))
        assert r.status_code == 200, r.text
        assert [x["outcome"] for x in r.json()["results"]] == ["applied"] * 3
        late = {"events": [ev("e3", "answered", "c1", -50, agent="amy"), body["events"][0]]}
        r = c.post("/api/v1/telephony/events", json=late, headers=h("phone"))
        assert [x["outcome"] for x in r.json()["results"]] == ["applied", "duplicate"]
        r = c.put("/api/v1/seats/me", json={"state": "break"}, headers=h("amy"))
        assert r.status_code == 422 and r.json()["detail"]["fields"][0]["field"] == "reason"
        r = c.put("/api/v1/seats/me", json={"state": "ready", "unsynced": 2}, headers=h("amy"))
        assert r.status_code == 200 and r.json()["state"] == "ready"
        assert c.get("/api/v1/seats", headers=h("amy")).status_code == 403
        seats = c.get("/api/v1/seats", headers=h("lee")).json()
        assert seats["counts"]["ready"] == 1 and seats["seats"][0]["unsynced"] == 2
        r = c.get("/api/v1/metrics/summary?window=60m", headers=h("lee"))
        assert r.status_code == 200, r.text
        calls = r.json()["calls"]
        assert (calls["offered"], calls["answered"], calls["handled"]) == (1, 1, 1)
        assert calls["average_speed_of_answer"] == pytest.approx(10)
        assert calls["average_handle_time"] == pytest.approx(40)
        assert c.get("/api/v1/metrics/summary", headers=h("amy")).status_code == 403
        today = NOW.astimezone(core_tz()).date().isoformat()
        r = c.get(f"/api/v1/reports/daily?date={today}&format=csv", headers=h("lee"))
        assert r.status_code == 200 and r.text.startswith("date,queue,offered")
        assert f"{today},all,1,1,0" in r.text


def test_an_event_that_cannot_be_recorded_costs_only_itself(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is applied in one go; when that fails it is applied again event by event,
    so the one event that cannot be recorded is rejected and the others are kept."""
    from hotline_server.live import store

    real = store.merge_event

    def merge(row: Any, e: Any) -> Any:
        if e.call_id == "broken":
            raise ValueError("cannot merge")
        return real(row, e)

    monkeypatch.setattr(store, "merge_event", merge)
    body = {
        "events": [
            ev("k1", "offered", "fine", -60, caller_number="13800000001", queue="general"),
            ev("k2", "offered", "broken", -59),
            ev("k3", "offered_to_seat", "fine", -55, agent="amy"),
        ]
    }
    with httpx.Client(base_url=server) as c:
        r = c.post("/api/v1/telephony/events", json=body, headers=h("phone"))
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["outcome"] for x in results] == ["applied", "rejected", "applied"]
        assert results[1]["event_id"] == "k2" and "ValueError" in results[1]["reason"]
        r = c.post("/api/v1/telephony/events", json=body, headers=h("phone"))
        assert [x["outcome"] for x in r.json()["results"]] == ["duplicate", "rejected", "duplicate"]
        r = c.get("/api/v1/metrics/summary?window=60m", headers=h("lee"))
        assert r.json()["calls"]["offered"] == 1


def core_tz() -> ZoneInfo:

    return ZoneInfo("Asia/Shanghai")


async def read_events(
    url: str, user: str, want: int, last_id: str | None = None, timeout: float = 10.0
) -> list[tuple[str, dict[str, Any], str]]:
    from httpx_sse import aconnect_sse

    out: list[tuple[str, dict[str, Any], str]] = []
    headers = h(user) | ({"Last-Event-ID": last_id} if last_id else {})
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:

        async def run() -> None:
            async with aconnect_sse(client, "GET", "/api/v1/events", headers=headers) as src:
                async for sse in src.aiter_sse():
                    out.append((sse.event, json.loads(sse.data), sse.id))
                    if len([e for e in out if e[0] not in ("hello", "heartbeat")]) >= want:
                        return

        await asyncio.wait_for(run(), timeout)
    return out


async def test_event_stream_offers_and_heartbeats(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as c:  # calls ring ready seats only
        r = await c.put("/api/v1/seats/me", json={"state": "ready"}, headers=h("amy"))
        assert r.is_success
    reader = asyncio.create_task(read_events(server, "amy", want=1))
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=server) as c:
        body = {
            "events": [
                ev("x1", "offered", "c9", 0, caller_number="13900000009"),
                ev("x2", "offered_to_seat", "c9", 1, agent="amy"),
            ]
        }
        assert (await c.post("/api/v1/telephony/events", json=body, headers=h("phone"))).is_success
    got = await reader
    kinds = [k for k, _, _ in got]
    assert kinds[0] == "hello"
    offers = [d for k, d, _ in got if k == "call_offer"]
    assert offers and offers[0]["caller_number"] == "13900000009"
    # resume after the offer: nothing is replayed, only the pending offer is re-sent
    last = [i for k, _, i in got if k == "call_offer"][-1]
    again = await read_events(server, "amy", want=1, last_id=last)
    assert [d["call_id"] for k, d, _ in again if k == "call_offer"] == ["c9"]


async def test_lead_gets_panel(server: str) -> None:
    got = await read_events(server, "lee", want=1)
    panel = next(d for k, d, _ in got if k == "panel")
    assert set(panel) >= {"calls_15m", "queue_now", "seats", "urgent"}


@pytest.mark.postgres
async def test_two_instances_share_offers_and_pokes(servers: Servers, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances need PostgreSQL (LISTEN/NOTIFY)")
    a, b = servers.start(), servers.start()
    reader = asyncio.create_task(read_events(a, "amy", want=2))
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=b) as c:
        r = await c.put("/api/v1/seats/me", json={"state": "ready"}, headers=h("amy"))
        assert r.is_success  # a seat change (a poke) on b; calls ring ready seats only
        body = {
            "events": [
                ev("y1", "offered", "c7", 0, caller_number="13700000007"),
                ev("y2", "offered_to_seat", "c7", 1, agent="amy"),
            ]
        }
        assert (await c.post("/api/v1/telephony/events", json=body, headers=h("phone"))).is_success
    got = await reader
    kinds = [k for k, _, _ in got if k not in ("hello", "heartbeat")]
    assert sorted(kinds) == ["call_offer", "poke"]
