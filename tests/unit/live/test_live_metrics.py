"""Every METRICS.md measure from a fixed, hand-made day of calls, seats and tickets.

The expected figures were worked out by hand from the table below (comments show the sums);
none of them is computed with the code under test.

now = 2026-03-15 10:00 Asia/Shanghai. Windows: today [00:00, 10:00), 60m [09:00, 10:00),
15m [09:45, 10:00).

call queue    offered   answered  abandoned ended     acw end   hold  wait  handle
c1   general  08:30:00  08:30:10  -         08:35:10  08:36:10  0     10    300+60      = 360
c2   general  09:00:00  09:00:05  -         09:03:25  09:03:55  20    5     180+20+30   = 230
c3   general  09:10:00  09:10:20  -         09:12:00  -         0     20    100         = 100
c4   medical  09:20:00  -         09:20:03  -         -         -     3 (short abandon)
c5   medical  09:30:00  -         09:31:00  -         -         -     60
c6   medical  09:46:00  09:46:15  -         09:50:15  09:51:15  0     15    240+60      = 300
c7   general  09:55:00  waiting at 10:00                                300
c8   general  09:58:00  waiting at 10:00                                120
c9   medical  09:50:00  09:50:02  -         (talking)                   2     not handled yet

Hold is the phone system's total *within* the connected span: c2 was connected 200 s
(09:00:05 -> 09:03:25) of which 20 s on hold, so talk 180 + hold 20 + after-call 30 = 230.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline import metrics as M
from hotline.metrics import CallRecord, SeatChange, TicketRecord

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=TZ)


def at(hhmmss: str, day: int = 15) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return datetime(2026, 3, day, h, m, s, tzinfo=TZ)


CALLS = [
    CallRecord("c1", at("08:30:00"), "general", "13800000001", "a1", at("08:30:10"), None,
               at("08:35:10"), at("08:36:10")),
    CallRecord("c2", at("09:00:00"), "general", "13800000002", "a1", at("09:00:05"), None,
               at("09:03:25"), at("09:03:55"), hold_seconds=20),
    CallRecord("c3", at("09:10:00"), "general", "13800000003", "a2", at("09:10:20"), None,
               at("09:12:00"), None),
    CallRecord("c4", at("09:20:00"), "medical", "13900000004", None, None, at("09:20:03")),
    CallRecord("c5", at("09:30:00"), "medical", "13900000005", None, None, at("09:31:00")),
    CallRecord("c6", at("09:46:00"), "medical", "13800000002", "a1", at("09:46:15"), None,
               at("09:50:15"), at("09:51:15")),
    CallRecord("c7", at("09:55:00"), "general", "13900000007"),
    CallRecord("c8", at("09:58:00"), "general", "13900000008"),
    CallRecord("c9", at("09:50:00"), "medical", "13900000009", "a2", at("09:50:02")),
]  # fmt: skip

SEATS = [
    SeatChange("a1", "ready", at("08:00:00")),
    SeatChange("a1", "on_call", at("09:10:00")),
    SeatChange("a1", "after_call", at("09:20:00")),
    SeatChange("a1", "ready", at("09:25:00")),
    SeatChange("a1", "break", at("09:40:00"), "lunch"),
    SeatChange("a1", "ready", at("09:50:00")),
    SeatChange("a2", "ready", at("09:30:00")),
    SeatChange("a2", "on_call", at("09:45:00")),
    SeatChange("a3", "ready", at("07:00:00")),
    SeatChange("a3", "link_down", at("08:00:00")),
    SeatChange("a4", "ready", at("08:00:00")),
    SeatChange("a4", "signed_out", at("08:30:00")),
]


def ticket(
    tid: str, call: str, created: str, phone: str, category: str, **kw: object
) -> TicketRecord:
    day = int(kw.pop("day", 15))  # type: ignore[call-overload]
    return TicketRecord(
        id=tid,
        call_started_at=at(call, day),
        created_at=at(created, day),
        phone=phone,
        category=category,
        **kw,  # type: ignore[arg-type]
    )


TICKETS = [
    ticket("t1", "08:30:00", "08:35:00", "13800000001", "medical", urgency="red",
           status="closed", disposition="dispatch", dispatched=True),
    ticket("t2", "09:00:00", "09:03:00", "13800000002", "transport", status="closed",
           disposition="on_spot"),
    ticket("t3", "09:10:00", "09:12:00", "13800000003", "medical", urgency="red",
           status="handling", disposition="dispatch", dispatched=True, overdue=True),
    ticket("t4", "09:46:00", "09:50:00", "138-0000-0002", "transport"),
    ticket("t5", "09:50:00", "09:52:00", "", "other", status="closed", disposition="on_spot"),
    ticket("t6", "12:00:00", "12:05:00", "13800000003", "medical", day=14, urgency="red",
           status="dispatched", disposition="dispatch", dispatched=True),
]  # fmt: skip


def test_call_measures_today() -> None:
    start, end = M.window_bounds("today", NOW, TZ)
    assert start == at("00:00:00")
    m = M.call_measures(CALLS, start, end)
    assert m.offered == 9
    assert m.answered == 5  # c1 c2 c3 c6 c9
    assert m.abandoned == 2  # c4 c5
    assert m.short_abandoned == 1  # c4 waited 3 s
    assert m.answer_rate == pytest.approx(5 / 9)
    assert m.abandonment_rate == pytest.approx(2 / 9)
    assert m.answered_within_sl == 4  # c1 10 s, c2 5 s, c6 15 s (at the limit), c9 2 s
    assert m.service_level == pytest.approx(4 / 9)
    assert m.average_speed_of_answer == pytest.approx((10 + 5 + 20 + 15 + 2) / 5)
    assert m.handled == 4
    assert m.average_handle_time == pytest.approx((360 + 230 + 100 + 300) / 4)


def test_call_measures_60m_and_15m() -> None:
    m60 = M.call_measures(CALLS, *M.window_bounds("60m", NOW, TZ))
    assert (m60.offered, m60.answered, m60.abandoned, m60.short_abandoned) == (8, 4, 2, 1)
    assert m60.answer_rate == pytest.approx(0.5)
    assert m60.service_level == pytest.approx(3 / 8)
    assert m60.average_speed_of_answer == pytest.approx((5 + 20 + 15 + 2) / 4)
    assert m60.average_handle_time == pytest.approx((230 + 100 + 300) / 3)

    m15 = M.call_measures(CALLS, *M.window_bounds("15m", NOW, TZ))
    assert (m15.offered, m15.answered, m15.abandoned) == (4, 2, 0)  # c6 c7 c8 c9
    assert m15.answer_rate == pytest.approx(0.5)
    assert m15.service_level == pytest.approx(0.5)
    assert m15.average_speed_of_answer == pytest.approx((15 + 2) / 2)
    assert m15.average_handle_time == pytest.approx(300)


def test_service_level_threshold_is_configurable() -> None:
    m = M.call_measures(CALLS, *M.window_bounds("today", NOW, TZ), service_level_seconds=20)
    assert m.service_level == pytest.approx(5 / 9)  # c3's 20 s now counts


def test_empty_window_has_no_rates() -> None:
    m = M.call_measures([], NOW - timedelta(hours=1), NOW)
    assert m.offered == 0
    assert m.answer_rate is None and m.service_level is None
    assert m.average_speed_of_answer is None and m.average_handle_time is None


def test_queue_now() -> None:
    q = M.queue_now(CALLS, NOW)
    assert q.calls_waiting == 2  # c7 c8
    assert q.longest_wait == pytest.approx(300)  # c7 since 09:55


def test_occupancy_60m() -> None:
    occ = M.occupancy(SEATS, *M.window_bounds("60m", NOW, TZ))
    # a1: ready 600+900+600 = 2100, on call 600 + after-call 300 = 900 -> 900/3000
    assert occ.per_agent["a1"] == pytest.approx(0.3)
    # a2: ready 900, on call 900
    assert occ.per_agent["a2"] == pytest.approx(0.5)
    assert occ.per_agent["a3"] is None  # link down all hour
    assert occ.overall == pytest.approx(1800 / 4800)


def test_occupancy_today() -> None:
    occ = M.occupancy(SEATS, *M.window_bounds("today", NOW, TZ))
    # ready: a1 4200+900+600, a2 900, a3 3600, a4 1800 = 12000; handle: a1 900, a2 900
    assert occ.overall == pytest.approx(1800 / 13800)


def test_seats_by_state_now() -> None:
    current = M.current_seat_states(SEATS, NOW)
    counts = M.seats_by_state(ch.state for ch in current.values())
    assert counts == {
        "signed_in": 2,
        "ready": 1,
        "on_call": 1,
        "after_call": 0,
        "break": 0,
        "offline": 1,
        "signed_out": 1,
    }


def test_ticket_measures_today() -> None:
    tm = M.ticket_measures(TICKETS, CALLS, *M.window_bounds("today", NOW, TZ))
    assert tm.created == 5  # t1..t5 (t6 was yesterday)
    assert tm.on_spot == 2 and tm.on_spot_rate == pytest.approx(0.4)
    # t5 has no number. Resolved: t1 (closed) and t2 (on the spot), but t2's number called
    # again at 09:46 (c6); t3 and t4 are not resolved, repeat or not -> 1 of 4
    assert (tm.fcr_eligible, tm.fcr_resolved) == (4, 1)
    assert tm.first_call_resolution == pytest.approx(0.25)
    assert (tm.dispatched, tm.resolved) == (2, 1)
    assert tm.resolution_rate == pytest.approx(0.5)
    assert tm.by_category["medical"] == {
        "created": 2,
        "dispatched": 2,
        "resolved": 1,
        "resolution_rate": 0.5,
    }
    assert tm.by_category["transport"]["resolution_rate"] is None


def test_ticket_measures_60m() -> None:
    tm = M.ticket_measures(TICKETS, CALLS, *M.window_bounds("60m", NOW, TZ))
    assert tm.created == 4
    assert tm.on_spot_rate == pytest.approx(0.5)
    # t2 resolved but called again (c6); t3 and t4 open -> 0 of 3
    assert tm.first_call_resolution == pytest.approx(0.0)
    assert (tm.dispatched, tm.resolved, tm.resolution_rate) == (1, 0, 0.0)


def test_resolution_rate_matches_march_2022() -> None:
    tickets = [
        TicketRecord(
            id=f"u{i}",
            created_at=NOW,
            call_started_at=NOW,
            category="urgent_medical",
            urgency="red",
            dispatched=True,
            status="closed" if i < 3914 else "handling",
        )
        for i in range(4720)
    ]
    tm = M.ticket_measures(tickets, [], NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert round(tm.by_category["urgent_medical"]["resolution_rate"] * 100, 1) == 82.9


def test_urgent_now() -> None:
    u = M.urgent_now(TICKETS)
    assert (u.open, u.overdue) == (2, 1)  # t3 (overdue) and t6; t1 is closed


def test_series_today() -> None:
    s = M.series(CALLS, at("00:00:00"), NOW)
    assert len(s) == 40  # 10 hours of 15-minute buckets
    assert sum(b["offered"] for b in s) == 9
    assert s[34]["offered"] == 1  # 08:30 c1
    assert (s[36]["offered"], s[36]["answered"], s[36]["answered_within_sl"]) == (2, 2, 1)
    assert (s[37]["offered"], s[37]["abandoned"]) == (1, 1)
    assert (s[39]["offered"], s[39]["answered"]) == (4, 2)


def test_summary_per_queue() -> None:
    out = M.summary(CALLS, SEATS, TICKETS, window="60m", now=NOW, tz=TZ)
    assert out["calls"]["offered"] == 8
    general, medical = out["per_queue"]["general"], out["per_queue"]["medical"]
    assert (general["offered"], general["answered"], general["calls_waiting"]) == (4, 2, 2)
    assert (medical["offered"], medical["answered"], medical["abandoned"]) == (4, 2, 2)
    assert out["queue_now"] == {"calls_waiting": 2, "longest_wait": 300.0}
    assert out["urgent"] == {"open": 2, "overdue": 1}
    assert out["seats"]["on_call"] == 1
    assert len(out["series"]) == 4


def test_daily_report() -> None:
    rows = M.daily_report(CALLS, SEATS, TICKETS, first=date(2026, 3, 14), last=date(2026, 3, 15),
                          tz=TZ)  # fmt: skip
    keyed = {(r["date"], r["queue"]): r for r in rows}
    assert list(keyed) == [
        ("2026-03-14", "all"),
        ("2026-03-15", "all"),
        ("2026-03-15", "general"),
        ("2026-03-15", "medical"),
    ]
    assert keyed[("2026-03-14", "all")]["offered"] == 0
    assert keyed[("2026-03-14", "all")]["answer_rate"] is None
    assert keyed[("2026-03-14", "all")]["tickets_created"] == 1  # t6
    day = keyed[("2026-03-15", "all")]
    assert (day["offered"], day["answered"], day["abandoned"]) == (9, 5, 2)
    assert day["tickets_created"] == 5
    general = keyed[("2026-03-15", "general")]
    assert (general["offered"], general["answered"]) == (5, 3)
    assert keyed[("2026-03-15", "medical")]["answered"] == 2


def test_bad_window() -> None:
    with pytest.raises(ValueError, match="window"):
        M.window_bounds("2h", NOW, TZ)


def test_first_call_resolution_counts_only_resolved_tickets() -> None:
    """An open ticket without a repeat call is not a first-call resolution."""
    open_one = ticket("f1", "09:00:00", "09:02:00", "13700000001", "other", status="handling",
                      disposition="dispatch", dispatched=True)  # fmt: skip
    closed = ticket("f2", "09:00:00", "09:02:00", "13700000002", "other", status="closed",
                    disposition="on_spot")  # fmt: skip
    merged = ticket("f3", "09:00:00", "09:02:00", "13700000003", "other", status="merged")
    repeat_in_8_days = CallRecord("r1", at("09:00:00", 23), "general", "13700000002")
    tm = M.ticket_measures([open_one, closed, merged], [repeat_in_8_days],
                           *M.window_bounds("today", NOW, TZ))  # fmt: skip
    assert (tm.fcr_eligible, tm.fcr_resolved) == (3, 1)  # only f2; its repeat is on day 8


def test_hold_is_not_counted_twice() -> None:
    call = CallRecord("h1", at("09:00:00"), answered_at=at("09:00:00"), ended_at=at("09:05:00"),
                      after_call_ended_at=at("09:06:00"), hold_seconds=60)  # fmt: skip
    assert call.talk_seconds() == pytest.approx(240)
    assert call.handle_seconds() == pytest.approx(240 + 60 + 60)  # = connected 300 + acw 60
