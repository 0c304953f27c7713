"""Ticket outcomes from a real server (SQLite and PostgreSQL): 举报, 评价 and 满意率, 并单 and
解决率, red-ticket first response, and the daily report's outcome columns.

Every ticket goes in through the desk's push; the figures come back from
``/api/v1/reports/daily`` (JSON and CSV) and each expected number is worked out by hand below.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest

from tests.integration.live.conftest import Live
from tests.integration.live.test_live_figures import DAY, applied, at_d, mark_overdue, status
from tests.integration.live.test_live_server import mutation, push, ticket_args

# Day D, all by amy (call start -> written; a dispatch at intake is the first response):
#   r1 red help     09:00 -> 09:10 dispatch (600 s), closed, callback 满意
#   r2 red help     10:00 -> 10:20 dispatch (1200 s), left open: overdue (answered, not solved)
#   r3 red help     11:00 -> 11:24 dispatch (1440 s), closed, callback 基本满意
#   r4 red help     12:00, pending: no first response -> overdue, judged late
#   n1 举报 report  13:00 dispatch, closed, callback 不满意
#   n2 complaint    13:30 dispatch, merged into n3 (并单): not dispatched-but-unresolved
#   n3 help         14:00 dispatch, open
#   n4 consultation 15:00 on the spot (closed), callback reached without a score -> callback
#   n5 complaint    16:00 pending; its merge into n1 (finished) is refused
# created 9; dispatched r1 r2 r3 n1 n3 = 5 (n2 merged, left out); resolved r1 r3 n1 = 3
# evaluated 3: 满意 1, 基本满意 1, 不满意 1 -> 满意率 2/3
# red: 4 tickets; responded 3, mean (600 + 1200 + 1440) / 3 = 1080 s = 18 min;
#      judged 4 (r4: no response, 30 min long past), within 30 min 3 -> 3/4
# after the escalation clock: red overdue r2 r4 = 2; escalated (level > 0) r2 r4 = 2


def red(phone: str, hhmm: str, minutes: int | None) -> dict[str, Any]:
    started = at_d(f"{hhmm}:00")
    args = ticket_args(phone, started, category="urgent_medical", urgency="red",
                       urgent_subcategory="dialysis", kind="help",
                       disposition="dispatch" if minutes is not None else "pending")  # fmt: skip
    if minutes is not None:
        from datetime import timedelta

        args["created_at"] = (started + timedelta(minutes=minutes)).isoformat()
    return args


def callback(mid: int, ticket_id: str, **kw: Any) -> dict[str, Any]:
    return mutation(mid, "record_callback", {"ticket_id": ticket_id, **kw})


def test_outcome_figures_and_refusals(live: Live) -> None:
    t = {
        "r1": red("13900000001", "09:00", 10),
        "r2": red("13900000002", "10:00", 20),
        "r3": red("13900000003", "11:00", 24),
        "r4": red("13900000004", "12:00", None),
        "n1": ticket_args("13900000011", at_d("13:00:00"), kind="report", category="other",
                          disposition="dispatch"),
        "n2": ticket_args("13900000012", at_d("13:30:00"), kind="complaint", category="other",
                          caller_name="李四", disposition="dispatch"),
        "n3": ticket_args("13900000013", at_d("14:00:00"), kind="help", category="other",
                          caller_name="王五", disposition="dispatch"),
        "n4": ticket_args("13900000014", at_d("15:00:00"), kind="consultation",
                          category="other", disposition="on_spot", answer="已当场解答。"),
        "n5": ticket_args("13900000015", at_d("16:00:00"), kind="complaint", category="other"),
    }  # fmt: skip
    order = sorted(t)
    muts = [mutation(1 + i, "create_ticket", t[k]) for i, k in enumerate(order)]
    n = len(muts)

    def nxt() -> int:
        nonlocal n
        n += 1
        return n

    for key, score in (("r1", "satisfied"), ("r3", "basically_satisfied"),
                       ("n1", "dissatisfied")):  # fmt: skip
        tid = t[key]["id"]
        muts += [status(nxt(), tid, "handling", 1), status(nxt(), tid, "replied", 1),
                 status(nxt(), tid, "closed", 1),
                 callback(nxt(), tid, reached=True, satisfaction=score)]  # fmt: skip
    merge = {"ticket_id": t["n2"]["id"], "into_ticket_id": t["n3"]["id"]}
    muts.append(mutation(nxt(), "merge_ticket", merge))
    muts.append(callback(nxt(), t["n4"]["id"], reached=True))
    applied(push(live, "amy", client := str(uuid.uuid4()), muts))

    # refused, each with the field named: 评价 without a score, a score off the scale, a
    # score for a caller not reached, a merge into a finished ticket
    refused = [
        status(nxt(), t["n4"]["id"], "evaluated", 1),
        callback(nxt(), t["n4"]["id"], reached=True, satisfaction="very_happy"),
        callback(nxt(), t["n4"]["id"], reached=False, satisfaction="satisfied"),
        mutation(nxt(), "merge_ticket",
                 {"ticket_id": t["n5"]["id"], "into_ticket_id": t["n1"]["id"]}),
    ]  # fmt: skip
    body = push(live, "amy", client, refused)
    results = body["results"]
    assert [r["outcome"] for r in results] == ["rejected"] * 4
    assert [r["field"] for r in results] == [
        "args.satisfaction", "args.satisfaction", "args.satisfaction", "args.into_ticket_id",
    ]  # fmt: skip
    assert "needs the caller's score" in results[0]["reason"]
    assert "very_happy" in results[1]["reason"] or "satisfied" in results[1]["reason"]
    assert "not reached" in results[2]["reason"]
    assert "is already evaluated" in results[3]["reason"]
    assert "finished ticket" in results[3]["reason"]

    mark_overdue(live)
    with live.client("lee") as lead:
        r = lead.get("/api/v1/reports/daily", params={"date": DAY.isoformat()})
        assert r.status_code == 200, r.text
        csv_text = lead.get(
            "/api/v1/reports/daily", params={"date": DAY.isoformat(), "format": "csv"}
        ).text
        n4 = lead.get(f"/api/v1/tickets/{t['n4']['id']}").json()
        r1 = lead.get(f"/api/v1/tickets/{t['r1']['id']}").json()
        h2 = lead.get(f"/api/v1/tickets/{t['r2']['id']}/history").json()
        h4 = lead.get(f"/api/v1/tickets/{t['r4']['id']}/history").json()
        n5 = lead.get(f"/api/v1/tickets/{t['n5']['id']}").json()
    assert (n4["status"], n4["satisfaction"]) == ("callback", None)  # not evaluated
    assert (r1["status"], r1["satisfaction"]) == ("evaluated", "satisfied")
    assert n5["status"] == "accepted"  # the refused merge left it as it was

    day = next(row for row in r.json()["rows"] if row["queue"] == "all")
    assert day["tickets_created"] == 9
    assert (day["dispatched"], day["resolved"]) == (5, 3)
    assert day["resolution_rate"] == pytest.approx(3 / 5)
    assert day["evaluated"] == 3
    assert day["satisfaction_rate"] == pytest.approx(2 / 3)
    assert day["red_tickets"] == 4
    assert day["red_average_response"] == pytest.approx(1080.0)  # 18 minutes
    assert day["red_within_30m_rate"] == pytest.approx(3 / 4)
    assert (day["red_overdue"], day["escalated"]) == (2, 2)

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    all_row = next(x for x in rows if x["queue"] == "all" and not x["category"])
    assert (all_row["satisfaction_rate"], all_row["red_within_30m_rate"]) == ("0.6667", "0.7500")
    assert (all_row["red_tickets"], all_row["red_overdue"], all_row["escalated"]) == (
        "4", "2", "2",
    )  # fmt: skip
    assert all_row["red_average_response"] == "1080.0000"
    assert all_row["resolution_rate"] == "0.6000"

    # the escalation audit says what happened: r2 was answered (10:20) but not solved by the
    # end of its red window (12:00); r4 never had a first response (due 12:30)
    r2_reasons = " ".join(e["reason"] or "" for e in h2["entries"] if e["actor"] == "system")
    r4_reasons = " ".join(e["reason"] or "" for e in h4["entries"] if e["actor"] == "system")
    assert "first response given, but still unresolved at 2026-03-16 12:00" in r2_reasons
    assert "no first response by" not in r2_reasons
    assert "overdue: no first response by 2026-03-16 12:30" in r4_reasons


def test_summary_by_kind_counts_reports(live: Live) -> None:
    """举报 is taken (it was refused with 422 before) and counted by kind in the summary."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    args = [
        ticket_args("13900000021", now - timedelta(minutes=20), kind="report",
                    disposition="dispatch"),
        ticket_args("13900000022", now - timedelta(minutes=10), kind="report"),
        ticket_args("13900000023", now - timedelta(minutes=5), kind="praise"),
    ]  # fmt: skip
    applied(push(live, "amy", str(uuid.uuid4()),
                 [mutation(i + 1, "create_ticket", a) for i, a in enumerate(args)]))  # fmt: skip
    with live.client("amy") as c:
        rest = c.post("/api/v1/tickets", json=ticket_args("13900000024", now, kind="report"))
    assert rest.status_code == 201, rest.text
    assert rest.json()["kind"] == "report"
    with live.client("lee") as lead:
        s = lead.get("/api/v1/metrics/summary", params={"window": "60m"}).json()
    kinds = s["tickets"]["by_kind"]
    assert kinds["report"] == {"created": 3, "dispatched": 1, "resolved": 0,
                               "resolution_rate": 0.0}  # fmt: skip
    assert kinds["praise"]["created"] == 1
