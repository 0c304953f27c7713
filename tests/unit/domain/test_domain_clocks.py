"""Clocks: first response, escalation ladder (17:00 / 12:00) and working-day deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.clocks import (
    CITY_SUBMISSION,
    FIRST_RESPONSE,
    HANDLING,
    RESOLUTION,
    SUPERVISION_REPORT,
    CategoryRule,
    EscalationPolicy,
    WorkCalendar,
    escalation_level_due,
    first_response_deadline,
    handling_deadline,
    is_overdue,
    next_deadline,
    red_ladder,
    resolve_zone,
)
from hotline.model import EscalationLevel, Kind, Status, Ticket, Urgency, UrgentSubcategory

# No wall-clock limits in tests (a busy CI machine must not fail them).
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

SH = resolve_zone("Asia/Shanghai")
L = EscalationLevel


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


def ticket(call: datetime, **kw: Any) -> Ticket:
    kw.setdefault("urgency", Urgency.RED)
    return Ticket(id="t1", call_started_at=call, created_at=call + timedelta(minutes=3), **kw)


POLICY = EscalationPolicy()
CAL = WorkCalendar()

# ---------------------------------------------------------------- examples


def test_defaults_work_without_arguments() -> None:
    t = ticket(sh(2022, 3, 15, 10, 0))
    assert first_response_deadline(t) == sh(2022, 3, 15, 10, 30)
    assert is_overdue(t, sh(2022, 3, 15, 10, 31)) is True
    assert escalation_level_due(t, sh(2022, 3, 15, 10, 31)) == L.AGGREGATION


def test_first_response_counts_from_the_call_not_from_sync() -> None:
    call = sh(2022, 3, 15, 9, 0)
    t = Ticket(
        id="t1",
        call_started_at=call,
        created_at=call + timedelta(hours=5),  # saved offline, synced much later
        urgency=Urgency.RED,
    )
    assert first_response_deadline(t, POLICY, SH) == sh(2022, 3, 15, 9, 30)


def test_red_ladder_of_a_morning_call() -> None:
    t = ticket(sh(2022, 3, 15, 10, 0))
    ladder = red_ladder(t, POLICY, SH)
    assert ladder is not None
    assert ladder.first_response == sh(2022, 3, 15, 10, 30)
    assert ladder.supervision_start == sh(2022, 3, 15, 12, 0)
    assert ladder.supervision_report == sh(2022, 3, 15, 17, 0)
    assert ladder.city_submission == sh(2022, 3, 16, 12, 0)
    steps = [
        (sh(2022, 3, 15, 10, 30), L.AGENT, FIRST_RESPONSE),
        (sh(2022, 3, 15, 10, 31), L.AGGREGATION, FIRST_RESPONSE),
        (sh(2022, 3, 15, 12, 0), L.AGGREGATION, FIRST_RESPONSE),
        (sh(2022, 3, 15, 12, 1), L.SPECIAL_SUPERVISION, SUPERVISION_REPORT),
        (sh(2022, 3, 15, 17, 0), L.SPECIAL_SUPERVISION, SUPERVISION_REPORT),
        (sh(2022, 3, 15, 17, 0, 1), L.CITY_SUPERVISION, CITY_SUBMISSION),
        (sh(2022, 3, 16, 13, 0), L.CITY_SUPERVISION, CITY_SUBMISSION),
    ]
    for now, level, what in steps:
        assert escalation_level_due(t, now, POLICY, CAL, SH) == level, now
        countdown = next_deadline(t, now, POLICY, CAL, SH)
        assert countdown is not None
        assert countdown[0] == what, now


def test_first_response_in_time_skips_aggregation() -> None:
    call = sh(2022, 3, 15, 10, 0)
    t = ticket(call, first_response_at=call + timedelta(minutes=18), status=Status.DISPATCHED)
    assert escalation_level_due(t, sh(2022, 3, 15, 11, 0), POLICY, CAL, SH) == L.AGENT
    assert is_overdue(t, sh(2022, 3, 15, 11, 0), POLICY, CAL, SH) is False
    assert next_deadline(t, sh(2022, 3, 15, 11, 0), POLICY, CAL, SH) == (
        RESOLUTION,
        sh(2022, 3, 15, 12, 0),
    )
    assert escalation_level_due(t, sh(2022, 3, 15, 12, 1), POLICY, CAL, SH) == (
        L.SPECIAL_SUPERVISION
    )
    assert is_overdue(t, sh(2022, 3, 15, 12, 1), POLICY, CAL, SH) is True


def test_late_first_response_still_leaves_aggregation_reached() -> None:
    call = sh(2022, 3, 15, 10, 0)
    t = ticket(call, first_response_at=call + timedelta(minutes=45))
    assert escalation_level_due(t, call + timedelta(minutes=50), POLICY, CAL, SH) == (L.AGGREGATION)
    assert is_overdue(t, call + timedelta(minutes=50), POLICY, CAL, SH) is False


@pytest.mark.parametrize(
    ("call", "report"),
    [
        (sh(2022, 3, 15, 14, 0), sh(2022, 3, 15, 17, 0)),  # S = 16:00, the cutoff itself
        (sh(2022, 3, 15, 14, 0, 1), sh(2022, 3, 16, 17, 0)),  # S after 16:00: next day
        (sh(2022, 3, 15, 0, 0), sh(2022, 3, 15, 17, 0)),
        (sh(2022, 3, 15, 21, 59), sh(2022, 3, 16, 17, 0)),  # S = 23:59
        (sh(2022, 3, 15, 22, 0), sh(2022, 3, 16, 17, 0)),  # S = 00:00 next day: its 17:00
    ],
)
def test_report_by_17_same_day_or_next(call: datetime, report: datetime) -> None:
    ladder = red_ladder(ticket(call), POLICY, SH)
    assert ladder is not None
    assert ladder.supervision_report == report
    assert ladder.city_submission == datetime.combine(
        report.date() + timedelta(days=1), time(12), tzinfo=SH
    )


def test_local_day_not_utc_day_around_midnight() -> None:
    """23:50 in Shanghai is 15:50 UTC of the *same* date; S at 01:50 is the next local day."""
    call = datetime(2022, 3, 15, 15, 50, tzinfo=UTC)  # 23:50 Shanghai
    ladder = red_ladder(ticket(call), POLICY, SH)
    assert ladder is not None
    assert ladder.supervision_start == sh(2022, 3, 16, 1, 50)
    assert ladder.supervision_report == sh(2022, 3, 16, 17, 0)
    assert ladder.city_submission == sh(2022, 3, 17, 12, 0)
    assert ladder.supervision_report.astimezone(UTC) == datetime(2022, 3, 16, 9, 0, tzinfo=UTC)
    # the same instant computed for a site in UTC lands on other wall-clock times
    utc_ladder = red_ladder(ticket(call), POLICY, "UTC")
    assert utc_ladder is not None
    assert utc_ladder.supervision_report == datetime(2022, 3, 16, 17, 0, tzinfo=UTC)


def test_now_in_any_zone_means_the_same_instant() -> None:
    t = ticket(sh(2022, 3, 15, 10, 0))
    now_sh = sh(2022, 3, 15, 17, 30)
    now_utc = now_sh.astimezone(UTC)
    assert escalation_level_due(t, now_sh, POLICY, CAL, SH) == escalation_level_due(
        t, now_utc, POLICY, CAL, SH
    )
    assert next_deadline(t, now_sh, POLICY, CAL, SH) == next_deadline(t, now_utc, POLICY, CAL, SH)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_overdue(ticket(sh(2022, 3, 15, 10, 0)), datetime(2022, 3, 15, 11, 0))


@pytest.mark.parametrize(
    "status", [Status.CLOSED, Status.CALLBACK, Status.EVALUATED, Status.MERGED]
)
def test_finished_tickets_are_never_overdue_and_have_no_countdown(status: Status) -> None:
    call = sh(2022, 3, 15, 10, 0)
    t = ticket(call, status=status, closed_at=call + timedelta(hours=3))
    later = call + timedelta(days=3)
    assert is_overdue(t, later, POLICY, CAL, SH) is False
    assert next_deadline(t, later, POLICY, CAL, SH) is None
    # the level is what it reached before closing (S passed at 12:00, R not)
    assert escalation_level_due(t, later, POLICY, CAL, SH) == L.SPECIAL_SUPERVISION


def test_manual_escalation_is_never_undone_by_the_clock() -> None:
    t = ticket(sh(2022, 3, 15, 10, 0), escalation_level=L.CITY_SUPERVISION)
    assert escalation_level_due(t, sh(2022, 3, 15, 10, 1), POLICY, CAL, SH) == (L.CITY_SUPERVISION)


def test_per_category_rule() -> None:
    policy = EscalationPolicy(
        categories={"rabies_vaccine": CategoryRule(first_response=timedelta(minutes=15))}
    )
    call = sh(2022, 3, 15, 10, 0)
    rabies = ticket(call, urgent_subcategory=UrgentSubcategory.RABIES_VACCINE)
    fever = ticket(call, urgent_subcategory=UrgentSubcategory.FEVER)
    assert first_response_deadline(rabies, policy, SH) == call + timedelta(minutes=15)
    assert first_response_deadline(fever, policy, SH) == call + timedelta(minutes=30)


def test_policy_refuses_inconsistent_settings() -> None:
    with pytest.raises(ValueError):
        CategoryRule(first_response=timedelta(hours=3), supervision_after=timedelta(hours=2))
    with pytest.raises(ValueError):
        CategoryRule(report_cutoff=time(18, 0))


# ---------------------------------------------------------------- normal tickets


def normal(dispatched: datetime, kind: Kind = Kind.HELP, **kw: Any) -> Ticket:
    return Ticket(
        id="n1",
        call_started_at=dispatched - timedelta(minutes=5),
        created_at=dispatched,
        kind=kind,
        status=kw.pop("status", Status.DISPATCHED),
        **kw,
    )


def test_normal_ticket_has_no_red_clock() -> None:
    t = normal(sh(2022, 3, 15, 10, 0), status=Status.ACCEPTED)
    assert first_response_deadline(t, POLICY, SH) is None
    assert next_deadline(t, sh(2022, 3, 20, 10, 0), POLICY, CAL, SH) is None
    assert escalation_level_due(t, sh(2022, 4, 20, 10, 0), POLICY, CAL, SH) == L.AGENT


def test_help_dispatched_on_friday_is_due_end_of_next_friday() -> None:
    friday = sh(2022, 3, 18, 16, 5)
    t = normal(friday)
    assert handling_deadline(t, friday, POLICY, CAL, SH) == sh(2022, 3, 26, 0, 0)
    assert next_deadline(t, friday, POLICY, CAL, SH) == (HANDLING, sh(2022, 3, 26, 0, 0))
    assert is_overdue(t, sh(2022, 3, 25, 23, 59), POLICY, CAL, SH) is False
    assert is_overdue(t, sh(2022, 3, 26, 0, 1), POLICY, CAL, SH) is True
    replied = normal(friday, status=Status.REPLIED)
    assert is_overdue(replied, sh(2022, 4, 26, 0, 1), POLICY, CAL, SH) is False


def test_holidays_and_make_up_workdays() -> None:
    # National Day 2026: 1-7 October off, Saturday 10 October a make-up working day.
    cal = WorkCalendar.of(
        holidays=[f"2026-10-0{d}" for d in range(1, 8)],
        workdays=["2026-10-10"],
    )
    dispatched = sh(2026, 9, 30, 9, 0)
    t = normal(dispatched, kind=Kind.CONSULTATION)  # 3 working days: 8, 9, 10 October
    assert handling_deadline(t, dispatched, POLICY, cal, SH) == sh(2026, 10, 11, 0, 0)
    assert cal.is_working_day(date(2026, 10, 10))
    assert not cal.is_working_day(date(2026, 10, 5))


def test_dispatch_just_after_local_midnight_counts_from_the_local_day() -> None:
    # Friday 16:30 UTC is Saturday 00:30 in Shanghai: counting starts on Monday.
    t = normal(datetime(2022, 3, 18, 16, 30, tzinfo=UTC), kind=Kind.CONSULTATION)
    assert handling_deadline(t, t.created_at, POLICY, CAL, SH) == sh(2022, 3, 24, 0, 0)


def test_surge_runs_the_red_clock_on_every_ticket() -> None:
    call = sh(2022, 3, 15, 10, 0)
    t = normal(call + timedelta(minutes=5))
    assert first_response_deadline(t, EscalationPolicy(surge=True), SH) == (
        t.call_started_at + timedelta(minutes=30)
    )


def test_calendar_without_working_days_fails_clearly() -> None:
    cal = WorkCalendar(weekend=frozenset(range(7)))
    with pytest.raises(ValueError, match="no working days"):
        cal.add_working_days(date(2026, 1, 1), 1)


# ---------------------------------------------------------------- properties

instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4))
zones = st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin"])


@PROPERTY
@given(instants, offsets, zones)
def test_deadlines_are_monotone_in_the_call_time(
    call: datetime, later: timedelta, zone: str
) -> None:
    a = red_ladder(ticket(call), POLICY, zone)
    b = red_ladder(ticket(call + later), POLICY, zone)
    assert a is not None and b is not None
    assert a.first_response <= b.first_response
    assert a.supervision_start <= b.supervision_start
    assert a.supervision_report <= b.supervision_report
    assert a.city_submission <= b.city_submission
    assert a.first_response < a.supervision_start <= a.supervision_report < a.city_submission


@PROPERTY
@given(instants, offsets, st.sampled_from(list(Kind)))
def test_handling_deadline_is_monotone_in_the_dispatch_time(
    dispatched: datetime, later: timedelta, kind: Kind
) -> None:
    t = normal(dispatched, kind=kind)
    first = handling_deadline(t, dispatched, POLICY, CAL, SH)
    second = handling_deadline(t, dispatched + later, POLICY, CAL, SH)
    assert dispatched < first <= second
    assert first - dispatched >= timedelta(days=1)


@PROPERTY
@given(instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2)))
def test_overdue_iff_past_the_first_response_deadline(call: datetime, elapsed: timedelta) -> None:
    """Open red ticket, no first response, inside the red window: overdue iff now > F."""
    t = ticket(call)
    deadline = first_response_deadline(t, POLICY, SH)
    assert deadline is not None
    now = call + elapsed
    assert is_overdue(t, now, POLICY, CAL, SH) == (now > deadline)
    countdown = next_deadline(t, now, POLICY, CAL, SH)
    assert countdown == (FIRST_RESPONSE, deadline)


@PROPERTY
@given(
    instants,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    st.sampled_from(sorted({Status.ACCEPTED, Status.DISPATCHED, Status.HANDLING})),
)
def test_overdue_iff_past_the_red_window_once_responded(
    call: datetime, elapsed: timedelta, status: Status
) -> None:
    t = ticket(call, status=status, first_response_at=call + timedelta(minutes=10))
    ladder = red_ladder(t, POLICY, SH)
    assert ladder is not None
    now = call + elapsed
    assert is_overdue(t, now, POLICY, CAL, SH) == (now > ladder.supervision_start)


ticket_states = st.fixed_dictionaries(
    {
        "status": st.sampled_from(list(Status)),
        "responded_after": st.none() | st.timedeltas(timedelta(0), timedelta(hours=6)),
        "closed_after": st.none() | st.timedeltas(timedelta(0), timedelta(days=3)),
        "urgency": st.sampled_from(list(Urgency)),
    }
)


def _from_state(call: datetime, state: dict[str, Any]) -> Ticket:
    responded = state["responded_after"]
    closed = state["closed_after"]
    return ticket(
        call,
        status=state["status"],
        urgency=state["urgency"],
        first_response_at=None if responded is None else call + responded,
        closed_at=None if closed is None else call + closed,
    )


@PROPERTY
@given(instants, ticket_states, st.lists(offsets, min_size=2, max_size=6), zones)
def test_ladder_never_goes_down_as_time_passes(
    call: datetime, state: dict[str, Any], steps: list[timedelta], zone: str
) -> None:
    t = _from_state(call, state)
    levels = [escalation_level_due(t, call + s, POLICY, CAL, zone) for s in sorted(steps)]
    assert levels == sorted(levels)


@PROPERTY
@given(instants, ticket_states, offsets)
def test_finished_never_overdue_and_open_overdue_stays_overdue(
    call: datetime, state: dict[str, Any], elapsed: timedelta
) -> None:

    t = _from_state(call, state)
    now = call + elapsed
    overdue = is_overdue(t, now, POLICY, CAL, SH)
    if t.status in {Status.CLOSED, Status.CALLBACK, Status.EVALUATED, Status.MERGED}:
        assert overdue is False
        assert next_deadline(t, now, POLICY, CAL, SH) is None
    elif overdue and (t.first_response_at is None or t.first_response_at <= now):
        assert is_overdue(t, now + timedelta(hours=1), POLICY, CAL, SH) is True


def test_every_countdown_subject_and_rung_has_both_names() -> None:
    from hotline.clocks import deadline_label, level_label

    for what in (FIRST_RESPONSE, RESOLUTION, SUPERVISION_REPORT, CITY_SUBMISSION, HANDLING):
        assert deadline_label(what, "zh") != deadline_label(what, "en")
    assert level_label(L.SPECIAL_SUPERVISION) == "专人督办"
    assert level_label(3, "en") == "City supervision"
