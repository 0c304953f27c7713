"""The escalation clock driven by an injected clock, on red tickets pushed to a real server.

The tickets are dated three days ahead (a server refuses client times more than a week
ahead: hotline.times), so the running server's own clock (wall time) never reaches their
deadlines: every change seen here is made by ``run_escalation_once`` at a
stepped ``now``. Each step is checked in the ticket's history (actor ``system``, reason, time)
and in the change log a desk pulls; one second before a deadline and exactly at it, nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline_server.db.engine import make_engine
from hotline_server.live.escalation import run_escalation_once
from hotline_server.live.tasks import LEADER_LOCK_KEY, Leadership
from tests.integration.live.conftest import Live
from tests.integration.live.test_live_server import mutation, push, ticket_args

ZONE = ZoneInfo("Asia/Shanghai")
DAY: date = (datetime.now(ZONE) + timedelta(days=3)).date()


def local(hhmmss: str, day_offset: int = 0) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    d = DAY + timedelta(days=day_offset)
    return datetime(d.year, d.month, d.day, h, m, s, tzinfo=ZONE)


@pytest.fixture
def engine(live: Live) -> Iterator[Engine]:
    e = make_engine(live.server.database_url)
    try:
        yield e
    finally:
        e.dispose()


def red(phone: str, started: datetime, **kw: Any) -> dict[str, Any]:
    args = ticket_args(phone, started, urgency="red", category="urgent_medical",
                       urgent_subcategory="dialysis", kind="help", **kw)  # fmt: skip
    return args


def system_entries(live: Live, ticket_id: str) -> list[dict[str, Any]]:
    with live.client("lee") as lead:
        r = lead.get(f"/api/v1/tickets/{ticket_id}/history")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e["actor"] == "system"]


def pulled_levels(live: Live, ticket_id: str) -> list[tuple[int, bool]]:
    """(escalation_level, overdue) of every change-log entry of the ticket, in order."""
    out: list[tuple[int, bool]] = []
    cursor = 0
    with live.client("lee") as lead:
        for _ in range(50):  # bounded paging
            body = lead.get("/api/v1/sync/pull", params={"cursor": cursor}).json()
            for c in body["changes"]:
                if c["entity"] == "ticket" and c["entity_id"] == ticket_id:
                    out.append((int(c["data"]["escalation_level"]), bool(c["data"]["overdue"])))
            if not body.get("has_more") or body["cursor"] == cursor:
                break
            cursor = body["cursor"]
    return out


def at_of(entry: dict[str, Any]) -> datetime:
    at = datetime.fromisoformat(entry["at"])
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def test_ladder_steps_at_their_times_and_not_before(live: Live, engine: Engine) -> None:
    missed = red("13500000001", local("10:00:00"))  # no first response: aggregation at F
    answered = red("13500000002", local("10:00:00"), disposition="dispatch")  # responded 10:02
    late_day = red("13500000003", local("15:00:00"), disposition="dispatch")  # S = 17:00
    on_spot = red("13500000004", local("10:00:00"), disposition="on_spot")  # closed at once
    push(live, "amy", str(uuid.uuid4()), [
        mutation(i, "create_ticket", args)
        for i, args in enumerate([missed, answered, late_day, on_spot], start=1)
    ])  # fmt: skip

    def step(now: datetime) -> dict[str, list[dict[str, Any]]]:
        run_escalation_once(engine, now.astimezone(UTC))
        return {t["id"]: system_entries(live, t["id"]) for t in (missed, answered, late_day)}

    def counts(got: dict[str, list[dict[str, Any]]]) -> tuple[int, int, int]:
        return len(got[missed["id"]]), len(got[answered["id"]]), len(got[late_day["id"]])

    # before and exactly at the first-response deadline F = 10:30: nothing
    assert counts(step(local("10:29:59"))) == (0, 0, 0)
    assert counts(step(local("10:30:00"))) == (0, 0, 0)
    # a second after F: the unanswered ticket is overdue and goes to aggregation
    got = step(local("10:30:01"))
    assert counts(got) == (1, 0, 0)
    entry = got[missed["id"]][0]
    assert entry["changes"]["overdue"]["to"] is True
    assert entry["changes"]["escalation_level"]["to"] == 1
    assert "overdue" in entry["reason"] and "aggregation" in entry["reason"]
    assert "10:30" in entry["reason"]
    assert at_of(entry) == local("10:30:01")
    # the red window S = 12:00 (call + 2 h): nothing at 12:00, special supervision after
    assert counts(step(local("12:00:00"))) == (1, 0, 0)
    got = step(local("12:00:01"))
    assert counts(got) == (2, 1, 0)
    entry = got[missed["id"]][1]
    assert entry["changes"]["escalation_level"] == {"from": 1, "to": 2}
    assert "special supervision" in entry["reason"]
    assert f"reports by {DAY.isoformat()} 17:00" in entry["reason"]  # 17:00 the same day
    entry = got[answered["id"]][0]  # answered in time: overdue only now, skips aggregation
    assert entry["changes"]["overdue"]["to"] is True
    assert entry["changes"]["escalation_level"]["to"] == 2
    assert "aggregation" not in entry["reason"]
    assert at_of(entry) == local("12:00:01")
    # the late ticket (call 15:00): F 15:30 passed in time, S is 17:00 -> report next day
    assert counts(step(local("17:00:00"))) == (2, 1, 0)
    got = step(local("17:00:01"))
    assert counts(got) == (3, 2, 1)
    for t in (missed, answered):
        entry = got[t["id"]][-1]
        assert entry["changes"]["escalation_level"] == {"from": 2, "to": 3}
        assert "city supervision" in entry["reason"]
        next_noon = f"supervision office by {(DAY + timedelta(days=1)).isoformat()} 12:00"
        assert next_noon in entry["reason"]  # 12:00 the next day
        assert at_of(entry) == local("17:00:01")
    entry = got[late_day["id"]][0]
    assert entry["changes"]["escalation_level"]["to"] == 2
    assert f"reports by {(DAY + timedelta(days=1)).isoformat()} 17:00" in entry["reason"]
    # the top rung is the last: nothing more the next noon; the late ticket climbs at 17:00
    assert counts(step(local("12:00:01", 1))) == (3, 2, 1)
    assert counts(step(local("17:00:00", 1))) == (3, 2, 1)
    got = step(local("17:00:01", 1))
    assert counts(got) == (3, 2, 2)
    assert got[late_day["id"]][1]["changes"]["escalation_level"] == {"from": 2, "to": 3}
    # a closed ticket is never escalated; a second pass at the same time writes nothing
    assert system_entries(live, on_spot["id"]) == []
    assert run_escalation_once(engine, local("17:00:01", 1).astimezone(UTC)) is None

    # clients see each step as an ordinary change in the change log
    assert pulled_levels(live, missed["id"]) == [(0, False), (1, True), (2, True), (3, True)]
    assert pulled_levels(live, answered["id"]) == [(0, False), (2, True), (3, True)]
    assert pulled_levels(live, late_day["id"]) == [(0, False), (2, True), (3, True)]


@pytest.mark.postgres
def test_only_one_leader_and_the_other_takes_over(postgres_url: str) -> None:

    first_engine, second_engine = make_engine(postgres_url), make_engine(postgres_url)
    first, second = Leadership(first_engine), Leadership(second_engine)
    try:
        assert first.try_lead() is True
        assert second.try_lead() is False
        assert first.try_lead() is True  # the leader keeps leading
        assert second.try_lead() is False
        first.release()
        assert second.try_lead() is True
        assert first.try_lead() is False
        # the leader's session dies (a crashed instance): the lock goes with it
        with first_engine.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objid = :key AND granted"
                ),
                {"key": LEADER_LOCK_KEY & 0xFFFFFFFF},
            )
            conn.commit()
        assert second.try_lead() is False  # notices its session is gone
        assert first.try_lead() is True
    finally:
        first.release()
        second.release()
        first_engine.dispose()
        second_engine.dispose()
