"""Live operations against a real `hotline-server` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.live.conftest import LIVE_ENV, USERS, Live, read_events
from tests.support.server import start_server

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _anchor_now() -> None:
    """Times are relative to the test, not to when the module was imported: in a long suite
    many minutes pass in between, and "5 minutes ago" would fall out of the 15-minute window."""
    global NOW
    NOW = datetime.now(UTC).replace(microsecond=0)


def ev(eid: str, type_: str, call: str, at: datetime, **kw: Any) -> dict[str, Any]:
    return {"event_id": eid, "type": type_, "call_id": call, "at": at.isoformat(), **kw}


def push(live: Live, user: str, client_id: str, mutations: list[dict[str, Any]]) -> Any:
    with live.client(user) as c:
        r = c.post("/api/v1/sync/push", json={"client_id": client_id, "mutations": mutations})
    assert r.status_code == 200, r.text
    return r.json()


def mutation(mid: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "mutation_id": mid,
        "name": name,
        "args": args,
        "client_time": datetime.now(UTC).isoformat(),
    }


def uuid7() -> str:
    from hotline.ids import uuid7 as new_id

    return str(new_id())


def ticket_args(phone: str, started: datetime, **kw: Any) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "call_started_at": started.isoformat(),
        "created_at": (started + timedelta(minutes=2)).isoformat(),
        "caller_name": "张三",
        "phone": phone,
        "district": "徐汇区",
        "account": "来电咨询核酸检测点开放时间。",
        # 答复内容: required to answer on the spot and to mark a ticket replied
        "answer": "已告知就近核酸检测点及开放时间。",
        **kw,
    }


# ---------------------------------------------------------------- telephony


def test_telephony_events_are_idempotent_and_reconciled(live: Live) -> None:
    t0 = NOW - timedelta(minutes=10)
    offered = ev("e1", "offered", "c1", t0, caller_number="13800000001", queue="general")
    ended = ev("e4", "ended", "c1", t0 + timedelta(seconds=200), agent="amy")
    answered = ev("e3", "answered", "c1", t0 + timedelta(seconds=8), agent="amy")
    with httpx.Client(base_url=live.url) as anon:
        assert anon.post("/api/v1/telephony/events", json={"events": [offered]}).status_code == 401
    with live.client("amy") as agent:  # an agent's token is not the phone system's
        r = agent.post("/api/v1/telephony/events", json={"events": [offered]})
        assert r.status_code in (401, 403)
    with live.phone() as phone:
        r = phone.post("/api/v1/telephony/events", json={"events": [offered, ended]})
        assert r.status_code == 200, r.text
        assert [x["outcome"] for x in r.json()["results"]] == ["applied", "applied"]
        # the answered event arrives late, and the first batch is retried
        r = phone.post("/api/v1/telephony/events", json={"events": [answered, offered, ended]})
        assert [x["outcome"] for x in r.json()["results"]] == ["applied", "duplicate", "duplicate"]
        bad = phone.post("/api/v1/telephony/events", json={"events": [{"event_id": "x"}]})
        assert bad.status_code == 422
        assert phone.post("/api/v1/telephony/events", content=b"{not json").status_code == 422
    with live.client("lee") as lead:
        calls = lead.get("/api/v1/metrics/summary", params={"window": "60m"}).json()["calls"]
    assert (calls["offered"], calls["answered"], calls["abandoned"]) == (1, 1, 0)
    assert calls["average_speed_of_answer"] == pytest.approx(8)
    assert calls["average_handle_time"] == pytest.approx(192)


# ---------------------------------------------------------------- seats


def test_seat_states_link_down_and_roles(live: Live) -> None:
    with live.client("amy") as amy:
        r = amy.put("/api/v1/seats/me", json={"state": "break", "reason": "午休"})
        assert r.status_code == 200, r.text
        assert amy.put("/api/v1/seats/me", json={"state": "link_down"}).status_code == 422
        r = amy.put("/api/v1/seats/me", json={"state": "ready", "unsynced": 4})
        assert r.json()["state"] == "ready"
        assert amy.get("/api/v1/seats").status_code == 403
    with httpx.Client(base_url=live.url) as anon:
        assert anon.get("/api/v1/seats").status_code == 401
    with live.client("lee") as lead:
        seats = {s["agent"]: s for s in lead.get("/api/v1/seats").json()["seats"]}
        assert seats["amy"]["state"] == "ready" and seats["amy"]["unsynced"] == 4
        # nothing from amy's desk for longer than the link timeout (3 s here): link down
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seats = {s["agent"]: s for s in lead.get("/api/v1/seats").json()["seats"]}
            if seats["amy"]["state"] == "link_down":
                break
            time.sleep(0.3)
        assert seats["amy"]["state"] == "link_down"
        assert seats["amy"]["offline_since"] is not None
    with live.client("amy") as amy:
        assert amy.post("/api/v1/seats/me/heartbeat", json={"unsynced": 0}).status_code == 204
    with live.client("lee") as lead:
        seats = {s["agent"]: s for s in lead.get("/api/v1/seats").json()["seats"]}
        assert seats["amy"]["state"] == "ready" and seats["amy"]["offline_since"] is None


def test_seat_and_calls_sync_through_push(live: Live) -> None:
    client_id = str(uuid.uuid4())
    at = NOW - timedelta(minutes=5)
    muts = [
        mutation(1, "set_seat_state", {"state": "ready", "at": at.isoformat()}),
        mutation(2, "report_call", {"event": "answered", "call_id": "desk-1",
                                    "caller_number": "13900000001", "at": at.isoformat()}),
        mutation(3, "report_call", {"event": "ended", "call_id": "desk-1",
                                    "at": (at + timedelta(seconds=90)).isoformat()}),
        mutation(4, "set_seat_state", {"state": "link_down", "at": at.isoformat()}),
    ]  # fmt: skip
    body = push(live, "bob", client_id, muts)
    outcomes = [r["outcome"] for r in body["results"]]
    assert outcomes == ["applied", "applied", "applied", "rejected"]
    again = push(live, "bob", client_id, muts)  # a retried push applies nothing twice
    assert {r["outcome"] for r in again["results"]} == {"duplicate"}
    with live.client("lee") as lead:
        seats = {s["agent"]: s for s in lead.get("/api/v1/seats").json()["seats"]}
        summary = lead.get("/api/v1/metrics/summary", params={"window": "60m"}).json()
    assert seats["bob"]["state"] == "after_call"
    assert (summary["calls"]["offered"], summary["calls"]["answered"]) == (1, 1)
    assert summary["calls"]["average_handle_time"] == pytest.approx(90)


# ---------------------------------------------------------------- metrics and report


DAY = date(2026, 3, 15)


def at_local(hhmmss: str) -> datetime:
    from zoneinfo import ZoneInfo

    h, m, s = (int(x) for x in hhmmss.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, h, m, s, tzinfo=ZoneInfo("Asia/Shanghai"))


REPORT_EVENTS = [
    # c1 general: waits 10 s, talks 300 s, 60 s after-call work
    ("c1", "offered", "09:00:00", {"queue": "general", "caller_number": "13800000001"}),
    ("c1", "answered", "09:00:10", {"agent": "amy"}),
    ("c1", "ended", "09:05:10", {"agent": "amy"}),
    ("c1", "after_call_ended", "09:06:10", {"agent": "amy"}),
    # c2 general: waits 30 s (misses the 15 s service level), talks 100 s
    ("c2", "offered", "09:10:00", {"queue": "general", "caller_number": "13800000002"}),
    ("c2", "answered", "09:10:30", {"agent": "bob"}),
    ("c2", "ended", "09:12:10", {"agent": "bob"}),
    # c3 medical: hangs up after 3 s (a short abandon)
    ("c3", "offered", "09:20:00", {"queue": "medical", "caller_number": "13800000003"}),
    ("c3", "abandoned", "09:20:03", {}),
    # c4 medical: hangs up after 40 s
    ("c4", "offered", "09:30:00", {"queue": "medical", "caller_number": "13800000004"}),
    ("c4", "abandoned", "09:30:40", {}),
]


def test_daily_report_matches_hand_computed_figures(live: Live) -> None:
    events = [
        ev(f"r-{call}-{kind}", kind, call, at_local(t), **kw) for call, kind, t, kw in REPORT_EVENTS
    ]
    with live.phone() as phone:
        assert phone.post("/api/v1/telephony/events", json={"events": events}).is_success
    with live.client("lee") as lead:
        r = lead.get("/api/v1/reports/daily", params={"date": DAY.isoformat()})
        assert r.status_code == 200, r.text
        rows = {row["queue"]: row for row in r.json()["rows"]}
        csv_text = lead.get(
            "/api/v1/reports/daily", params={"date": DAY.isoformat(), "format": "csv"}
        ).text
    day = rows["all"]
    assert (day["offered"], day["answered"], day["abandoned"], day["short_abandoned"]) == (
        4, 2, 2, 1,
    )  # fmt: skip
    assert day["answer_rate"] == pytest.approx(2 / 4)
    assert day["abandonment_rate"] == pytest.approx(2 / 4)
    assert day["service_level"] == pytest.approx(1 / 4)  # only c1 within 15 s
    assert day["average_speed_of_answer"] == pytest.approx((10 + 30) / 2)
    assert day["average_handle_time"] == pytest.approx((360 + 100) / 2)
    assert (rows["general"]["offered"], rows["general"]["answered"]) == (2, 2)
    assert (rows["medical"]["offered"], rows["medical"]["abandoned"]) == (2, 2)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("date,queue,offered,answered,abandoned,short_abandoned")
    assert lines[1].startswith("2026-03-15,all,4,2,2,1,0.5000,0.5000,0.2500,20.0000,230.0000")
    with live.client("amy") as amy:
        assert amy.get("/api/v1/reports/daily").status_code == 403
        assert amy.get("/api/v1/metrics/summary").status_code == 403
    with live.client("lee") as lead:
        assert lead.get("/api/v1/reports/daily", params={"format": "xml"}).status_code == 422
        bad = lead.get("/api/v1/reports/daily", params={"date": "2026-03-15", "to": "2026-03-01"})
        assert bad.status_code == 422


def test_metrics_summary_windows(live: Live) -> None:
    # relative to now: one call 40 min ago (in 60m, not in 15m), one 5 min ago
    a, b = NOW - timedelta(minutes=40), NOW - timedelta(minutes=5)
    events = [
        ev("w1", "offered", "w1", a, queue="general"),
        ev("w2", "answered", "w1", a + timedelta(seconds=4), agent="amy"),
        ev("w3", "offered", "w2", b, queue="epidemic"),
    ]
    with live.phone() as phone:
        assert phone.post("/api/v1/telephony/events", json={"events": events}).is_success
    with live.client("lee") as lead:
        s60 = lead.get("/api/v1/metrics/summary", params={"window": "60m"}).json()
        s15 = lead.get("/api/v1/metrics/summary", params={"window": "15m"}).json()
        assert lead.get("/api/v1/metrics/summary", params={"window": "2h"}).status_code == 422
    assert (s60["calls"]["offered"], s60["calls"]["answered"]) == (2, 1)
    assert (s15["calls"]["offered"], s15["calls"]["answered"]) == (1, 0)
    assert s60["queue_now"]["calls_waiting"] == 1  # w2 still queued
    assert s60["queue_now"]["longest_wait"] >= 5 * 60
    assert set(s60["per_queue"]) == {"general", "epidemic"}
    assert len(s15["series"]) == 1 and len(s60["series"]) == 4
    assert {"agent", "state", "tickets_today", "unsynced"} <= set(s60["seats_table"][0])


def test_report_dates_out_of_range_are_refused_by_field(live: Live) -> None:
    """Found by schemathesis: date=0001-01-01 overflowed turning local midnight into UTC."""
    with live.client("lee") as lead:
        for params, name in (({"date": "0001-01-01"}, "date"),
                             ({"date": "2026-01-01", "to": "9999-12-31"}, "to")):  # fmt: skip
            r = lead.get("/api/v1/reports/daily", params=params)
            assert r.status_code == 422, r.text
            assert [f["field"] for f in r.json()["fields"]] == [name]


# ---------------------------------------------------------------- event stream


async def test_event_stream_pokes_offers_and_resume(live: Live) -> None:
    # an earlier ticket from the caller, so the offer can show it
    push(live, "bob", str(uuid.uuid4()), [
        mutation(1, "create_ticket", ticket_args("13700000007", NOW - timedelta(days=1))),
    ])  # fmt: skip
    token = await asyncio.to_thread(live.token, "amy")
    with live.client("amy") as amy:  # calls are offered to ready seats only
        assert amy.put("/api/v1/seats/me", json={"state": "ready"}).status_code == 200
    reader = asyncio.create_task(  # noqa: RUF006 - awaited below
        read_events(live.url, token, until=lambda got: any(k == "call_offer" for k, *_ in got))
    )
    await asyncio.sleep(0.5)
    events = [
        ev("s1", "offered", "s1", NOW, caller_number="13700000007", queue="general"),
        ev("s2", "offered_to_seat", "s1", NOW + timedelta(seconds=1), agent="amy"),
    ]
    with live.phone() as phone:
        assert phone.post("/api/v1/telephony/events", json=events and {"events": events}).is_success
    got = await reader
    assert got[0][0] == "hello"
    offer = next(d for k, d, _ in got if k == "call_offer")
    assert offer["caller_number"] == "13700000007"
    assert [t["phone"] for t in offer["recent_tickets"]] == ["13700000007"]
    offer_id = next(i for k, _, i in got if k == "call_offer")

    # a change amy may see (her own ticket) pokes her stream
    reader = asyncio.create_task(  # noqa: RUF006 - awaited below
        read_events(live.url, token, until=lambda got: any(k == "poke" for k, *_ in got),
                    last_id=offer_id)
    )  # fmt: skip
    await asyncio.sleep(0.5)
    await asyncio.to_thread(
        push, live, "amy", str(uuid.uuid4()),
        [mutation(1, "create_ticket", ticket_args("13600000006", NOW))],
    )  # fmt: skip
    got = await reader
    assert any(k == "poke" for k, *_ in got)

    # heartbeats keep an idle stream alive
    got = await read_events(
        live.url, token, until=lambda got: any(k == "heartbeat" for k, *_ in got), timeout=10
    )
    assert any(k == "heartbeat" for k, *_ in got)


async def test_a_colleagues_change_pokes_my_stream(live: Live) -> None:
    """Without teams every agent sees every ticket, so amy's push is news for bob's desk."""
    token = await asyncio.to_thread(live.token, "bob")

    def poked_after_hello(got: list[tuple[str, dict[str, Any], str]]) -> bool:
        start = next((d["seq"] for k, d, _ in got if k == "hello"), None)
        return start is not None and any(k == "poke" and d["seq"] > start for k, d, _ in got)

    reader = asyncio.create_task(read_events(live.url, token, until=poked_after_hello))
    await asyncio.sleep(0.5)
    await asyncio.to_thread(
        push, live, "amy", str(uuid.uuid4()),
        [mutation(1, "create_ticket", ticket_args("13600000016", NOW))],
    )  # fmt: skip
    got = await reader
    assert poked_after_hello(got)


async def test_lead_panel_updates(live: Live) -> None:
    token = await asyncio.to_thread(live.token, "lee")
    got = await read_events(
        live.url, token, until=lambda got: sum(k == "panel" for k, *_ in got) >= 1
    )
    panel = next(d for k, d, _ in got if k == "panel")
    assert {"calls_15m", "today", "queue_now", "seats", "urgent"} <= set(panel)
    agent_token = await asyncio.to_thread(live.token, "amy")
    got = await read_events(
        live.url, agent_token, until=lambda got: any(k == "heartbeat" for k, *_ in got)
    )
    assert not any(k == "panel" for k, *_ in got)  # agents get no panel


# ---------------------------------------------------------------- knowledge base and forms


def test_knowledge_base_search_and_pull(live: Live) -> None:
    article = {
        "title": "核酸检测点开放时间答复口径",
        "body": "市民咨询核酸检测点时，告知就近的社区采样点每天八点至二十点开放。",
        "tags": ["核酸", "疫情"],
        "category": "epidemic",
    }
    with live.client("amy") as amy:
        assert amy.post("/api/v1/kb", json=article).status_code == 403
    with live.client("lee") as lead:
        r = lead.post("/api/v1/kb", json=article)
        assert r.status_code == 201, r.text
        created = r.json()
        other = lead.post("/api/v1/kb", json={**article, "title": "血透患者就医", "body": "血透"})
        assert other.status_code == 201
        stale = lead.post("/api/v1/kb", json={**article, "id": created["id"], "base_revision": 0})
        assert stale.status_code == 409
    with live.client("amy") as amy:
        found = amy.get("/api/v1/kb", params={"q": "检测点"}).json()
        assert [a["id"] for a in found["articles"]] == [created["id"]]
        assert amy.get("/api/v1/kb", params={"q": "采样"}).json()["total"] == 1
        assert amy.get("/api/v1/kb", params={"q": "地铁"}).json()["total"] == 0
        assert amy.get(f"/api/v1/kb/{created['id']}").json()["revision"] == 1
        assert amy.get("/api/v1/kb/nope").status_code == 404
        pulled = amy.get("/api/v1/sync/pull", params={"cursor": 0}).json()
    kb_changes = [c for c in pulled["changes"] if c["entity"] == "kb_article"]
    assert {c["entity_id"] for c in kb_changes} == {created["id"], other.json()["id"]}


def test_forms_are_served_with_a_version(live: Live) -> None:
    with live.client("amy") as amy:
        shipped = amy.get("/api/v1/forms").json()
        assert shipped["source"] == "shipped" and shipped["version"]
        assert amy.put("/api/v1/forms", json={"forms": shipped["forms"]}).status_code == 403
    with live.client("ada") as admin:
        r = admin.put("/api/v1/forms", json={"forms": shipped["forms"]})
        assert r.status_code == 200, r.text
        assert r.json()["source"] == "admin"
    with live.client("amy") as amy:
        assert amy.get("/api/v1/forms").json()["source"] == "admin"
        pulled = amy.get("/api/v1/sync/pull", params={"cursor": 0}).json()
    assert any(c["entity"] == "form_set" for c in pulled["changes"])


# ---------------------------------------------------------------- escalation


def test_running_server_marks_overdue_red_tickets(live: Live) -> None:
    started = NOW - timedelta(hours=2)
    args = ticket_args("13500000005", started, urgency="red", category="urgent_medical",
                       urgent_subcategory="dialysis", kind="help")  # fmt: skip
    push(live, "amy", str(uuid.uuid4()), [mutation(1, "create_ticket", args)])
    deadline = time.monotonic() + 20
    ticket: dict[str, Any] = {}
    history: dict[str, Any] = {}
    with live.client("lee") as lead:
        # The ticket reads as overdue as soon as the clocks say so (255dff4); the escalation
        # job's entry in its history comes with the job's next round: wait for both.
        while time.monotonic() < deadline:
            ticket = lead.get(f"/api/v1/tickets/{args['id']}").json()
            history = lead.get(f"/api/v1/tickets/{args['id']}/history").json()
            if ticket.get("overdue") and "overdue" in str(history):
                break
            time.sleep(0.3)
    assert ticket.get("overdue") is True
    assert "overdue" in str(history)


# ---------------------------------------------------------------- several instances


@pytest.mark.postgres
async def test_change_on_instance_b_reaches_stream_on_instance_a(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share PostgreSQL (LISTEN/NOTIFY)")
    a = await asyncio.to_thread(start_server, database_url, tmp_path, USERS, LIVE_ENV)
    try:
        from tests.support.server import RunningServer

        b = RunningServer(database_url=database_url, log_path=tmp_path / "b.log",
                          extra_env=LIVE_ENV)  # fmt: skip
        await asyncio.to_thread(b.start)
        try:
            live_a, live_b = Live(a), Live(b)
            token = await asyncio.to_thread(live_a.token, "amy")
            reader = asyncio.create_task(  # noqa: RUF006 - awaited below
                read_events(a.url, token, until=lambda g: any(k == "poke" for k, *_ in g),
                            timeout=5)
            )  # fmt: skip
            await asyncio.sleep(0.5)
            sent = time.monotonic()
            await asyncio.to_thread(
                push, live_b, "amy", str(uuid.uuid4()),
                [mutation(1, "create_ticket", ticket_args("13400000004", NOW))],
            )  # fmt: skip
            got = await reader
            latency = time.monotonic() - sent
            print(f"cross-instance poke latency: {latency * 1000:.0f} ms")
            assert any(k == "poke" for k, *_ in got)
        finally:
            await asyncio.to_thread(b.stop)
    finally:
        await asyncio.to_thread(a.stop)
