"""Ticket and seat figures of METRICS.md from a real server, compared with hand-computed ones.

Call events go in through the telephony API, seat changes and tickets through the desk's push,
status moves through push too; the figures come back from ``/api/v1/reports/daily`` (JSON and
CSV) and ``/api/v1/metrics/summary``. Every expected number is worked out by hand below.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline_server.db.engine import make_engine
from hotline_server.live.escalation import run_escalation_once
from tests.integration.live.conftest import Live
from tests.integration.live.test_live_server import ev, mutation, push, ticket_args

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 16)


def at_d(hhmmss: str) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, h, m, s, tzinfo=ZONE)


def seat(mid: int, state: str, at: datetime, reason: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"state": state, "at": at.isoformat()}
    if reason:
        args["reason"] = reason
    return mutation(mid, "set_seat_state", args)


def status(mid: int, ticket_id: str, to: str, base: int) -> dict[str, Any]:
    return mutation(mid, "change_status", {"ticket_id": ticket_id, "to": to, "base_revision": base})


def applied(body: Any) -> None:
    assert [r for r in body["results"] if r["outcome"] != "applied"] == []


def mark_overdue(live: Live) -> None:
    """Run the escalation clock once at the present (the server runs it too: idempotent)."""
    engine = make_engine(live.server.database_url)
    try:
        run_escalation_once(engine, datetime.now(UTC))
    finally:
        engine.dispose()


# Day D. Seats (push) and calls (telephony; answered -> on call, ended -> after-call work,
# after-call ended -> ready):
#   amy  ready 09:00:00, c1 answered 09:10:10, ended 09:15:10, acw ended 09:16:10,
#        c3 answered 11:00:05 ended 11:01:05 acw 11:01:35, signed out 12:00:00
#        ready 610 + 2630 + ... see below
#   bob  ready 09:00:00, c2 answered 09:05:00, ended 09:07:00, acw ended 09:08:00,
#        break 09:20:00, signed out 10:00:00
# amy: ready 09:00:00-09:10:10 = 610, on call 300, acw 60, ready 09:16:10-11:00:05 = 6235,
#      on call 60, acw 30, ready 11:01:35-12:00:00 = 3505 -> handle 450, ready 10350
# bob: ready 300, on call 120, acw 60, ready 09:08-09:20 = 720 (break not counted)
#      -> handle 180, ready 1020
# occupancy = (450 + 180) / (450 + 180 + 10350 + 1020) = 630 / 12000 = 0.0525
DAY_CALLS = [
    ("c1", "offered", "09:10:00", {"queue": "general", "caller_number": "13800000001"}),
    ("c1", "answered", "09:10:10", {"agent": "amy"}),
    ("c1", "ended", "09:15:10", {"agent": "amy"}),
    ("c1", "after_call_ended", "09:16:10", {"agent": "amy"}),
    ("c2", "offered", "09:04:50", {"queue": "medical", "caller_number": "13800000002"}),
    ("c2", "answered", "09:05:00", {"agent": "bob"}),
    ("c2", "ended", "09:07:00", {"agent": "bob"}),
    ("c2", "after_call_ended", "09:08:00", {"agent": "bob"}),
    # the caller of t2 calls again two hours later: t2 is no first-call resolution
    ("c3", "offered", "11:00:00", {"queue": "medical", "caller_number": "13800000002"}),
    ("c3", "answered", "11:00:05", {"agent": "amy"}),
    ("c3", "ended", "11:01:05", {"agent": "amy"}),
    ("c3", "after_call_ended", "11:01:35", {"agent": "amy"}),
]

# Tickets of day D:
#   t1 transport      on the spot (closed)             13800000001
#   t2 urgent_medical red, dispatched -> replied -> closed   13800000002 (called again: c3)
#   t3 urgent_medical red, dispatched, still open      13800000003 (overdue now)
#   t4 transport      dispatched -> replied -> closed  13800000004
#   t5 other          accepted, open                   13800000005
# created 5; on the spot 1 -> 0.2; dispatched 3 (t2 t3 t4), resolved 2 (t2 t4) -> 2/3
# per category: urgent_medical 1/2 = 0.5; transport 1/1 = 1.0; other: none dispatched
# first-call resolution: resolved without a repeat call: t1, t4 (t2 repeated; t3, t5 open)
#   -> 2 / 5 = 0.4
# Plus t6: red, called 5 minutes ago, accepted: open, not overdue yet.
# urgent now: open t3 t6 = 2, overdue t3 = 1


def test_daily_report_ticket_and_seat_figures(live: Live) -> None:
    t = {
        "t1": ticket_args("13800000001", at_d("09:10:00"), category="transport",
                          disposition="on_spot"),
        "t2": ticket_args("13800000002", at_d("09:04:50"), category="urgent_medical",
                          urgency="red", urgent_subcategory="dialysis", kind="help",
                          disposition="dispatch"),
        "t3": ticket_args("13800000003", at_d("09:30:00"), category="urgent_medical",
                          urgency="red", urgent_subcategory="fever", kind="help",
                          disposition="dispatch"),
        "t4": ticket_args("13800000004", at_d("09:40:00"), category="transport",
                          disposition="dispatch"),
        "t5": ticket_args("13800000005", at_d("09:50:00"), category="other"),
        "t6": ticket_args("13800000006", datetime.now(UTC) - timedelta(minutes=5),
                          category="urgent_medical", urgency="red",
                          urgent_subcategory="other_medical", kind="help"),
    }  # fmt: skip
    amy_muts = [
        seat(1, "ready", at_d("09:00:00")),
        seat(2, "signed_out", at_d("12:00:00")),
        *[mutation(3 + i, "create_ticket", t[k]) for i, k in enumerate(sorted(t))],
        status(9, t["t2"]["id"], "replied", 1),
        status(10, t["t2"]["id"], "closed", 2),
        status(11, t["t4"]["id"], "replied", 1),
        status(12, t["t4"]["id"], "closed", 2),
    ]
    applied(push(live, "amy", str(uuid.uuid4()), amy_muts))
    bob_muts = [
        seat(1, "ready", at_d("09:00:00")),
        seat(2, "break", at_d("09:20:00"), "午休"),
        seat(3, "signed_out", at_d("10:00:00")),
    ]
    applied(push(live, "bob", str(uuid.uuid4()), bob_muts))
    events = [ev(f"d-{c}-{k}", k, c, at_d(hms), **kw) for c, k, hms, kw in DAY_CALLS]
    with live.phone() as phone:
        r = phone.post("/api/v1/telephony/events", json={"events": events})
        assert r.status_code == 200, r.text
        assert {x["outcome"] for x in r.json()["results"]} == {"applied"}
    mark_overdue(live)

    with live.client("lee") as lead:
        r = lead.get("/api/v1/reports/daily", params={"date": DAY.isoformat()})
        assert r.status_code == 200, r.text
        csv_text = lead.get(
            "/api/v1/reports/daily", params={"date": DAY.isoformat(), "format": "csv"}
        ).text
        today = lead.get("/api/v1/metrics/summary", params={"window": "today"}).json()

    day = next(row for row in r.json()["rows"] if row["queue"] == "all")
    assert day["occupancy"] == pytest.approx(630 / 12000)
    assert day["tickets_created"] == 5
    assert day["on_spot_rate"] == pytest.approx(0.2)
    assert day["first_call_resolution"] == pytest.approx(0.4)
    assert (day["dispatched"], day["resolved"]) == (3, 2)
    assert day["resolution_rate"] == pytest.approx(2 / 3)
    cats = day["by_category"]
    assert cats["urgent_medical"] == {"created": 2, "dispatched": 2, "resolved": 1,
                                      "resolution_rate": 0.5}  # fmt: skip
    assert cats["transport"] == {"created": 2, "dispatched": 1, "resolved": 1,
                                 "resolution_rate": 1.0}  # fmt: skip
    assert cats["other"] == {"created": 1, "dispatched": 0, "resolved": 0,
                             "resolution_rate": None}  # fmt: skip
    assert day["average_handle_time"] == pytest.approx((360 + 180 + 90) / 3)

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    all_row = next(x for x in rows if x["queue"] == "all" and not x["category"])
    assert all_row["occupancy"] == "0.0525"
    assert (all_row["on_spot_rate"], all_row["first_call_resolution"]) == ("0.2000", "0.4000")
    assert all_row["resolution_rate"] == "0.6667"
    by_cat = {x["category"]: x for x in rows if x["category"]}
    assert set(by_cat) == {"other", "transport", "urgent_medical"}
    medical = by_cat["urgent_medical"]
    assert (medical["date"], medical["tickets_created"], medical["dispatched"]) == (
        DAY.isoformat(), "2", "2",
    )  # fmt: skip
    assert (medical["resolved"], medical["resolution_rate"]) == ("1", "0.5000")
    assert by_cat["transport"]["resolution_rate"] == "1.0000"
    assert by_cat["other"]["resolution_rate"] == ""  # nothing dispatched: no rate

    # red tickets now: t3 (overdue since day D) and t6 (five minutes old)
    assert today["urgent"] == {"open": 2, "overdue": 1}


# The last hour (now-relative; summary windows end at the server's now). T0 = now - 50 min.
#   amy ready T0, c9 offered T0+5:00 answered T0+5:20 ended T0+9:20 acw ended T0+10:20,
#       signed out T0+30:00 (a final state that counts for nothing and never goes link-down)
#   ready 320 + (1800 - 620) = 1500, handle 240 + 60 = 300 -> occupancy 300/1800 = 1/6
# Tickets: t7 transport on the spot (c9's caller); t8 transport dispatched -> replied ->
#   closed; t9 red urgent_medical accepted (called T0+40:00).
#   on the spot 1/3; first-call resolution t7, t8 = 2/3 (t9 open); transport resolution 1/1;
#   urgent open 1, overdue 0 (t9's first response is due T0+70:00)


def test_summary_ticket_and_seat_figures(live: Live) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)

    def m(minutes: int, seconds: int = 0) -> datetime:
        return t0 + timedelta(minutes=minutes, seconds=seconds)

    t7 = ticket_args("13800000007", m(5), category="transport", disposition="on_spot")
    t8 = ticket_args("13800000008", m(15), category="transport", disposition="dispatch")
    t9 = ticket_args("13800000009", m(40), category="urgent_medical", urgency="red",
                     urgent_subcategory="fever", kind="help")  # fmt: skip
    applied(push(live, "amy", str(uuid.uuid4()), [
        seat(1, "ready", m(0)),
        seat(2, "signed_out", m(30)),
        mutation(3, "create_ticket", t7),
        mutation(4, "create_ticket", t8),
        mutation(5, "create_ticket", t9),
        status(6, t8["id"], "replied", 1),
        status(7, t8["id"], "closed", 2),
    ]))  # fmt: skip
    events = [
        ev("n1", "offered", "c9", m(5), queue="general", caller_number="13800000007"),
        ev("n2", "answered", "c9", m(5, 20), agent="amy"),
        ev("n3", "ended", "c9", m(9, 20), agent="amy"),
        ev("n4", "after_call_ended", "c9", m(10, 20), agent="amy"),
    ]
    with live.phone() as phone:
        assert phone.post("/api/v1/telephony/events", json={"events": events}).is_success
    mark_overdue(live)
    with live.client("lee") as lead:
        s = lead.get("/api/v1/metrics/summary", params={"window": "60m"}).json()
    assert s["occupancy"] == pytest.approx(300 / 1800)
    assert s["occupancy_per_agent"]["amy"] == pytest.approx(300 / 1800)
    tickets = s["tickets"]
    assert tickets["created"] == 3
    assert tickets["on_spot_rate"] == pytest.approx(1 / 3)
    assert (tickets["fcr_eligible"], tickets["fcr_resolved"]) == (3, 2)
    assert tickets["first_call_resolution"] == pytest.approx(2 / 3)
    assert tickets["by_category"]["transport"]["resolution_rate"] == pytest.approx(1.0)
    assert tickets["by_category"]["urgent_medical"]["resolution_rate"] is None
    assert s["urgent"] == {"open": 1, "overdue": 0}
    assert s["calls"]["average_handle_time"] == pytest.approx(300)
