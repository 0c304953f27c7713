"""Calls are offered only to seats signed in and available (ready): a desk whose seat is
signed out, on a break or on a call is not rung, though the phone system's events are kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from tests.integration.live.conftest import Live, read_events


def ring(live: Live, call: str, agent: str, number: str) -> None:
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": f"{call}-q", "type": "offered", "call_id": call, "at": now,
         "caller_number": number, "queue": "general"},
        {"event_id": f"{call}-s", "type": "offered_to_seat", "call_id": call, "at": now,
         "caller_number": number, "agent": agent},
    ]  # fmt: skip
    with live.phone() as phone:
        r = phone.post("/api/v1/telephony/events", json={"events": events})
        assert r.status_code == 200, r.text


def set_seat(live: Live, user: str, state: str, reason: str | None = None) -> None:
    body: dict[str, Any] = {"state": state}
    if reason:
        body["reason"] = reason
    with live.client(user) as c:
        r = c.put("/api/v1/seats/me", json=body)
        assert r.status_code == 200, r.text


def offers(got: list[tuple[str, dict[str, Any], str]]) -> list[str]:
    return [d["call_id"] for k, d, _ in got if k == "call_offer"]


async def test_only_a_ready_seat_is_offered_a_call(live: Live) -> None:
    token = await asyncio.to_thread(live.token, "amy")
    reader = asyncio.create_task(
        read_events(live.url, token, until=lambda got: "c-ready" in offers(got), timeout=20)
    )
    await asyncio.sleep(0.5)  # the stream is open
    await asyncio.to_thread(ring, live, "c-out", "amy", "13700000001")  # seat signed out
    await asyncio.to_thread(set_seat, live, "amy", "break", "meal")
    await asyncio.to_thread(ring, live, "c-break", "amy", "13700000002")
    await asyncio.to_thread(set_seat, live, "amy", "ready")
    await asyncio.to_thread(ring, live, "c-ready", "amy", "13700000003")
    got = await reader
    assert offers(got) == ["c-ready"]


async def test_a_desk_reconnecting_gets_the_ringing_call_only_while_ready(live: Live) -> None:
    await asyncio.to_thread(ring, live, "c-wait", "bob", "13700000004")  # bob: signed out
    token = await asyncio.to_thread(live.token, "bob")
    # a ringing call is re-sent on connect before the first heartbeat: none for bob
    got = await read_events(
        live.url, token, until=lambda got: any(k == "heartbeat" for k, *_ in got)
    )
    assert offers(got) == []
    await asyncio.to_thread(set_seat, live, "bob", "ready")
    again = await read_events(live.url, token, until=lambda got: bool(offers(got)))
    assert offers(again) == ["c-wait"]
