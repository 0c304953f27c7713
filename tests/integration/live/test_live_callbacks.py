"""Missed-call callbacks (漏接回拨) and phantom waiting calls, on a real server process.

Call events are scripted through the telephony API; the callback list, the figures of the
summary, the panel and the daily report come back over HTTP and are checked against numbers
worked out by hand below. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.live.conftest import LIVE_ENV, USERS, Live
from tests.integration.live.test_live_server import ev
from tests.support.server import start_server

EXPIRY = 120  # seconds without news of a waiting call: expired


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is between 06:00 and 18:00, so "today" holds every
    scripted call whenever the test runs (Etc/GMT-N is UTC+N)."""
    for offset in range(-12, 13):
        if 6 <= (now + timedelta(hours=offset)).hour < 18 and abs(offset) <= 12:
            sign = "-" if offset > 0 else "+"
            return f"Etc/GMT{sign}{abs(offset)}" if offset else "Etc/UTC"
    raise AssertionError("no zone found")


@pytest.fixture
def cb_live(database_url: str, tmp_path: Path) -> Iterator[tuple[Live, str]]:
    zone = midday_zone(datetime.now(UTC) + timedelta(minutes=10))
    env = {**LIVE_ENV, "HOTLINE_LIVE_CALL_EXPIRY_SECONDS": str(EXPIRY), "HOTLINE_TZ": zone}
    server = start_server(database_url, tmp_path, users=USERS, extra_env=env)
    try:
        yield Live(server), zone
    finally:
        server.stop()


def wait_for(check: Any, what: str, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    for _ in range(1000):
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def by_number(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["caller_number"]: c for c in items}


# T = now - 30 min. Numbers N1..N6.
#  a1 N1 offered T,        abandoned T+40s          wait 40  -> entry N1
#  a2 N1 offered T+5m,     abandoned T+5m+90s       wait 90  -> N1 again: 2 missed, longest 90
#  b1 N2 offered T+1m,     ended T+1m+3s (no answer: an abandon, short) -> entry N2
#  c1 N3 offered T+2m,     answered T+2m+10s amy, ended T+4m             -> no entry
#  d1 N4 offered T+3m,     rings bob T+3m+5s, then nothing: expired at T+3m+5s+120s,
#                          wait 125 -> entry N4 (reason expired)
#  g1 N2 offered T+10m,    answered T+10m+5s bob, ended T+12m -> N2 got through: closed
#  e1 N5 offered now-20s,  answered now-15s amy, no end: ends when amy signs out
#  f1 N6 offered now-12s,  rings amy... no: rings bob now-10s; bob signs out -> expired
#  w1 N7 offered now-5s    still waiting (younger than the expiry)
# Offered in the last hour: a1 a2 b1 c1 d1 g1 e1 f1 w1 = 9; answered c1 g1 e1 = 3;
# abandoned a1 a2 b1 = 3 (short b1 = 1); expired d1 f1 = 2; answer rate 3/9.
# Handled (answered and ended): c1, g1, e1 (ended by the sign-out) = 3.
# Longest wait: d1's 125 s.
N = {i: f"1390000000{i}" for i in range(1, 8)}


def test_callbacks_and_phantom_calls(cb_live: tuple[Live, str]) -> None:
    live, zone = cb_live
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(minutes=30)

    def at(minutes: int, seconds: int = 0) -> datetime:
        return t0 + timedelta(minutes=minutes, seconds=seconds)

    q = {"queue": "general"}
    events = [
        ev("a1o", "offered", "a1", at(0), caller_number=N[1], **q),
        ev("a1x", "abandoned", "a1", at(0, 40)),
        ev("a2o", "offered", "a2", at(5), caller_number=N[1], **q),
        ev("a2x", "abandoned", "a2", at(6, 30)),
        ev("b1o", "offered", "b1", at(1), caller_number=N[2], **q),
        ev("b1e", "ended", "b1", at(1, 3)),
        ev("c1o", "offered", "c1", at(2), caller_number=N[3], **q),
        ev("c1a", "answered", "c1", at(2, 10), agent="amy"),
        ev("c1e", "ended", "c1", at(4), agent="amy"),
        ev("d1o", "offered", "d1", at(3), caller_number=N[4], **q),
        ev("d1s", "offered_to_seat", "d1", at(3, 5), agent="bob"),
        ev("g1o", "offered", "g1", at(10), caller_number=N[2], **q),
        ev("g1a", "answered", "g1", at(10, 5), agent="bob"),
        ev("g1e", "ended", "g1", at(12), agent="bob"),
    ]
    with live.phone() as phone:
        r = phone.post("/api/v1/telephony/events", json={"events": events})
        assert r.status_code == 200, r.text
        assert {x["outcome"] for x in r.json()["results"]} == {"applied"}

    with live.client("amy") as amy, live.client("bob") as bob:
        assert amy.put("/api/v1/seats/me", json={"state": "ready"}).status_code == 200
        assert bob.put("/api/v1/seats/me", json={"state": "ready"}).status_code == 200
        live_now = datetime.now(UTC)
        recent = [
            ev("e1o", "offered", "e1", live_now - timedelta(seconds=20), caller_number=N[5], **q),
            ev("e1a", "answered", "e1", live_now - timedelta(seconds=15), agent="amy"),
            ev("f1o", "offered", "f1", live_now - timedelta(seconds=12), caller_number=N[6], **q),
            ev("f1s", "offered_to_seat", "f1", live_now - timedelta(seconds=10), agent="bob"),
            ev("w1o", "offered", "w1", live_now - timedelta(seconds=5), caller_number=N[7], **q),
        ]
        with live.phone() as phone:
            assert phone.post("/api/v1/telephony/events", json={"events": recent}).is_success
        # the phantom d1 expires (the server's clock job), leaving the fresh w1 waiting
        entries = wait_for(
            lambda: by_number(amy.get("/api/v1/callbacks").json()["callbacks"]).get(N[4]),
            "d1 to expire onto the callback list",
        )
        assert entries["reason"] == "expired"
        assert entries["longest_wait_seconds"] == pytest.approx(125)
        # amy signs out holding e1; bob signs out with f1 ringing at his seat
        assert amy.put("/api/v1/seats/me", json={"state": "signed_out"}).status_code == 200
        assert bob.put("/api/v1/seats/me", json={"state": "signed_out"}).status_code == 200

        listed = amy.get("/api/v1/callbacks").json()
        open_ = by_number(listed["callbacks"])
        # N2's caller got through on g1; N3 and N5 were answered; N7 still waits
        assert set(open_) == {N[1], N[4], N[6]} and listed["open"] == 3
        assert [c["caller_number"] for c in listed["callbacks"]] == [N[1], N[4], N[6]]
        n1 = open_[N[1]]
        assert (n1["missed_calls"], n1["reason"], n1["status"]) == (2, "abandoned", "open")
        assert (n1["first_call_id"], n1["last_call_id"]) == ("a1", "a2")
        assert n1["last_wait_seconds"] == pytest.approx(90)
        assert n1["longest_wait_seconds"] == pytest.approx(90)
        assert datetime.fromisoformat(n1["first_missed_at"]) == at(0, 40)
        assert datetime.fromisoformat(n1["last_missed_at"]) == at(6, 30)
        assert open_[N[6]]["reason"] == "expired"
        done = by_number(amy.get("/api/v1/callbacks", params={"state": "done"}).json()["callbacks"])
        assert done[N[2]]["outcome"] == "called_again" and done[N[2]]["done_by"] == "system"

        # take it, refuse a second taker, record outcomes
        cb = n1["id"]
        r = amy.post(f"/api/v1/callbacks/{cb}/claim")
        assert r.status_code == 200 and r.json()["claimed_by"] == "amy"
        assert amy.post(f"/api/v1/callbacks/{cb}/claim").status_code == 200  # again: same
        for path, body in (("claim", None), ("outcome", {"outcome": "reached"})):
            r = bob.post(f"/api/v1/callbacks/{cb}/{path}", json=body)
            assert r.status_code == 409, r.text
            assert "amy" in r.json()["message"] and r.json()["fields"][0]["field"] == "id"
        r = amy.post(f"/api/v1/callbacks/{cb}/outcome", json={"outcome": "maybe"})
        assert r.status_code == 422 and r.json()["fields"][0]["field"] == "outcome"
        assert "no_answer" in r.json()["message"]
        r = amy.post(f"/api/v1/callbacks/{cb}/outcome", json={"outcome": "reached", "x": 1})
        assert r.status_code == 422  # unknown field
        r = amy.post(f"/api/v1/callbacks/{cb}/outcome", json={"outcome": "no_answer"})
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["attempts"], r.json()["claimed_by"]) == (
            "open", 1, None,
        )  # fmt: skip
        reached = {"outcome": "reached", "note": "已告知办理进度"}
        r = bob.post(f"/api/v1/callbacks/{cb}/outcome", json=reached)
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["status"], got["outcome"], got["done_by"], got["attempts"]) == (
            "done", "reached", "bob", 2,
        )  # fmt: skip
        assert [(h["agent"], h["outcome"], h["call_id"], h["note"]) for h in got["history"]] == [
            ("amy", "no_answer", "a2", None),
            ("bob", "reached", "a2", "已告知办理进度"),
        ]
        r = amy.post(f"/api/v1/callbacks/{cb}/outcome", json={"outcome": "reached"})
        assert r.status_code == 409 and "done" in r.json()["message"]
        r = amy.post("/api/v1/callbacks/nope/claim")
        assert r.status_code == 404 and r.json()["fields"][0]["field"] == "id"
        with httpx.Client(base_url=live.url) as anon:
            assert anon.get("/api/v1/callbacks").status_code == 401
        # N1 missing again opens a new entry for the number
        with live.phone() as phone:
            again = [
                ev("h1o", "offered", "h1", now - timedelta(minutes=1), caller_number=N[1], **q),
                ev("h1x", "abandoned", "h1", now - timedelta(seconds=50)),
            ]
            assert phone.post("/api/v1/telephony/events", json={"events": again}).is_success
        fresh = by_number(amy.get("/api/v1/callbacks").json()["callbacks"])[N[1]]
        assert fresh["id"] != cb and fresh["missed_calls"] == 1

    with live.client("lee") as lead:
        s = lead.get("/api/v1/metrics/summary", params={"window": "60m"}).json()
        today = lead.get("/api/v1/metrics/summary", params={"window": "today"}).json()
        local_day = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
        report = lead.get("/api/v1/reports/daily", params={"date": local_day.isoformat()})
        csv_text = lead.get(
            "/api/v1/reports/daily", params={"date": local_day.isoformat(), "format": "csv"}
        ).text
    calls = s["calls"]
    # h1 (the repeat miss of N1) adds one offered and one abandon to the hand count above
    assert (calls["offered"], calls["answered"], calls["abandoned"]) == (10, 3, 4)
    assert (calls["short_abandoned"], calls["expired"], calls["handled"]) == (1, 2, 3)
    assert calls["answer_rate"] == pytest.approx(3 / 10)
    assert calls["abandonment_rate"] == pytest.approx(4 / 10)
    assert calls["longest_wait"] == pytest.approx(125)
    assert s["queue_now"]["calls_waiting"] == 1  # w1 only: no phantom stays waiting
    # callbacks today: N1 (done), N2 (done), N4, N6, N1 again (open) -> due 5, done 2
    assert today["callbacks"] == {"due": 5, "done": 2, "reached": 1, "open_now": 3}
    assert report.status_code == 200, report.text
    day = next(row for row in report.json()["rows"] if row["queue"] == "all")
    assert (day["callbacks_due"], day["callbacks_done"]) == (5, 2)
    assert day["seats_staffed"] == 2  # amy and bob were signed in today
    assert day["longest_wait"] == pytest.approx(125)
    assert day["expired"] == 2
    header = csv_text.splitlines()[0].split(",")
    for column in ("callbacks_due", "callbacks_done", "longest_wait", "seats_staffed"):
        assert column in header
