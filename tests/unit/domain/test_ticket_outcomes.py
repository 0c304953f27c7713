"""Ticket outcomes in the pure domain, each figure worked out by hand: 举报, the 评价 scale and
满意率, merged tickets in 解决率, red-ticket first response, the daily outcome columns, and why
a ticket is overdue (the escalation audit's reason)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline import clocks
from hotline import metrics as M
from hotline.model import Kind, Satisfaction, Ticket, Urgency
from hotline.protocol import RecordCallbackArgs
from hotline.validators import FieldError, validate_satisfaction

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 16, tzinfo=SH)
END = START + timedelta(days=1)
TID = "0190a0b0-c0d0-7e00-8000-000000000001"


def at(hh: int, mm: int = 0) -> datetime:
    return START + timedelta(hours=hh, minutes=mm)


def rec(tid: str, hh: int, **kw: object) -> M.TicketRecord:
    return M.TicketRecord(id=tid, created_at=at(hh, 2), call_started_at=at(hh), **kw)  # type: ignore[arg-type]


def test_report_kind_is_a_kind_with_a_handling_time() -> None:
    assert Kind("report") is Kind.REPORT
    assert clocks.DEFAULT_HANDLING_WORKING_DAYS[Kind.REPORT] == 10


def test_satisfaction_scale_and_its_errors_name_the_field() -> None:
    assert validate_satisfaction("basically_satisfied") is Satisfaction.BASICALLY_SATISFIED
    assert validate_satisfaction(4) is Satisfaction.SATISFIED  # an old desk's 1-5 score
    assert RecordCallbackArgs(ticket_id=TID, satisfaction=2).satisfaction == "dissatisfied"
    with pytest.raises(FieldError) as missing:
        validate_satisfaction(None)
    assert missing.value.field == "satisfaction"
    assert missing.value.message("zh").startswith("评价须记录满意度")
    with pytest.raises(FieldError) as bad:
        validate_satisfaction("great")
    assert bad.value.field == "satisfaction"
    assert "满意、基本满意、不满意" in bad.value.message("zh")
    assert '"great" is not one of the choices' in bad.value.message("en")


def test_satisfaction_merge_and_kind_figures() -> None:
    tickets = [
        rec("a", 9, kind="help", dispatched=True, status="evaluated", satisfaction="satisfied"),
        rec("b", 10, kind="report", dispatched=True, status="evaluated",
            satisfaction="basically_satisfied"),
        rec("c", 11, kind="report", dispatched=True, status="evaluated",
            satisfaction="dissatisfied"),
        rec("d", 12, kind="report", dispatched=True, status="evaluated",
            satisfaction="satisfied"),
        # dispatched, then merged into "e": neither dispatched nor unresolved on its own
        rec("m", 13, kind="complaint", dispatched=True, status="merged"),
        rec("e", 14, kind="complaint", dispatched=True, status="handling"),
        rec("f", 15, kind="consultation", status="callback", disposition="on_spot"),
    ]  # fmt: skip
    m = M.ticket_measures(tickets, [], START, END)
    # dispatched a b c d e = 5 (m left out), resolved a b c d = 4
    assert (m.dispatched, m.resolved, m.resolution_rate) == (5, 4, pytest.approx(0.8))
    # evaluated 4: satisfied 2, basically 1, dissatisfied 1 -> (2 + 1) / 4
    assert m.evaluated == 4
    assert m.satisfaction_counts == {"satisfied": 2, "basically_satisfied": 1, "dissatisfied": 1}
    assert m.satisfaction_rate == pytest.approx(0.75)
    assert m.by_kind["report"] == {"created": 3, "dispatched": 3, "resolved": 3,
                                   "resolution_rate": 1.0}  # fmt: skip
    assert m.by_kind["complaint"] == {"created": 2, "dispatched": 1, "resolved": 0,
                                      "resolution_rate": 0.0}  # fmt: skip
    assert M.ticket_measures([], [], START, END).satisfaction_rate is None  # no data, not 0


def test_red_first_response_figures() -> None:
    tickets = [
        rec("r1", 9, urgency="red", first_response_at=at(9, 10)),  # 600 s
        rec("r2", 10, urgency="red", first_response_at=at(10, 20)),  # 1200 s
        rec("r3", 11, urgency="red", first_response_at=at(11, 45)),  # 2700 s: late
        rec("r4", 12, urgency="red", overdue=True, escalation_level=1),  # none, 30 min past
        rec("r5", 23, urgency="red"),  # 23:00, the window ends 24:00: past 30 min, none
        rec("rm", 8, urgency="red", status="merged"),  # merged: left out
        rec("n1", 9, escalation_level=2),  # a normal ticket escalated by hand
    ]
    m = M.ticket_measures(tickets, [], START, END)
    assert (m.red_created, m.red_responded) == (5, 3)
    assert m.red_average_response == pytest.approx((600 + 1200 + 2700) / 3)  # 25 min
    # judged: r1 r2 r3 r4 r5; within 30 min: r1 r2
    assert (m.red_judged, m.red_within_30m, m.red_within_30m_rate) == (5, 2, pytest.approx(0.4))
    # r5 seen 10 minutes after its call is not judged yet (it may still be answered in time)
    early = M.ticket_measures(tickets, [], START, at(23, 10))
    assert (early.red_judged, early.red_within_30m) == (4, 2)
    row = M.outcome_columns(m)
    assert row == {"red_tickets": 5, "red_overdue": 1, "escalated": 2, "evaluated": 0,
                   "satisfaction_rate": None,
                   "red_average_response": pytest.approx(1500.0),
                   "red_within_30m_rate": pytest.approx(0.4)}  # fmt: skip


def test_daily_report_carries_the_outcome_columns() -> None:
    tickets = [rec("r1", 9, urgency="red", first_response_at=at(9, 18), status="evaluated",
                   satisfaction="satisfied", dispatched=True)]  # fmt: skip
    rows = M.daily_report([], [], tickets, first=START.date(), last=START.date(), tz=SH)
    (day,) = rows
    assert set(M.OUTCOME_COLUMNS) <= set(M.REPORT_COLUMNS)
    assert day["red_average_response"] == pytest.approx(18 * 60)
    assert (day["red_tickets"], day["red_within_30m_rate"], day["satisfaction_rate"]) == (
        1, 1.0, 1.0,
    )  # fmt: skip


def red_ticket(**kw: object) -> Ticket:
    call = datetime(2026, 3, 16, 9, 0, tzinfo=SH)
    fields: dict[str, object] = {"status": "dispatched", **kw}
    return Ticket(id=TID, call_started_at=call, created_at=call + timedelta(minutes=2),
                  urgency=Urgency.RED, **fields)  # type: ignore[arg-type]  # fmt: skip


def test_overdue_cause_tells_a_missing_response_from_late_handling() -> None:
    call = datetime(2026, 3, 16, 9, 0, tzinfo=SH)
    silent = red_ticket(status="accepted")
    answered = red_ticket(first_response_at=(call + timedelta(minutes=12)).astimezone(UTC))
    assert clocks.overdue_cause(silent, call + timedelta(minutes=31)) == clocks.NO_FIRST_RESPONSE
    assert clocks.overdue_cause(answered, call + timedelta(minutes=31)) is None  # in time
    # past the 2-hour red window: answered, but not solved
    late = call + timedelta(hours=2, minutes=1)
    assert clocks.overdue_cause(answered, late) == clocks.RED_HANDLING_LATE
    assert clocks.overdue_cause(silent, late) == clocks.NO_FIRST_RESPONSE
    normal = Ticket(id=TID, call_started_at=call, created_at=call, status="dispatched")
    assert clocks.overdue_cause(normal, call + timedelta(days=30)) == clocks.HANDLING_LATE
