"""The clock policy file (hotline.policy): what it sets, and every bad value named by key
and line, so a refused file can be mended from the message alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from hotline import clocks
from hotline.model import Kind, Ticket, Urgency
from hotline.policy import DEFAULT_POLICY, PolicyError, parse_policy

CALL = datetime(2026, 9, 30, 1, 30, tzinfo=UTC)  # 09:30 Shanghai, a Wednesday


def make_ticket(**kw: object) -> Ticket:
    kw.setdefault("urgency", Urgency.NORMAL)
    return Ticket.model_validate(
        {"id": "t1", "call_started_at": CALL, "created_at": CALL + timedelta(minutes=3), **kw}
    )


GOOD = """\
name = "2026 秋季"
surge = false

[default]
first_response_minutes = 30

[default.handling_working_days]
consultation = 2

[categories.urgent_medical]
first_response_minutes = 20
supervision_after_minutes = 90
report_by = "18:00"

[[holidays]]
name = "国庆节"
from = 2026-10-01
to = 2026-10-07
workdays = [2026-09-27, 2026-10-10]

[[holidays]]
name = "元旦"
from = "2027-01-01"
"""


def problems(text: str) -> list[tuple[str, int | None]]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return [(p.key, p.line) for p in caught.value.problems]


def test_a_good_file_sets_rules_calendar_and_surge() -> None:
    site = parse_policy(GOOD)
    assert site.name == "2026 秋季" and site.surge is False
    rule = site.escalation.categories["urgent_medical"]
    assert rule.first_response == timedelta(minutes=20)
    assert rule.supervision_after == timedelta(minutes=90)
    assert rule.report_by == time(18, 0)
    # a category rule starts from [default]: the default's consultation days carry over
    assert rule.working_days_for(Kind.CONSULTATION) == 2
    assert site.escalation.default.working_days_for(Kind.CONSULTATION) == 2
    assert site.escalation.default.working_days_for(Kind.COMPLAINT) == 10  # unchanged
    cal = site.calendar
    assert all(not cal.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_working_day(date(2026, 9, 27))  # a Sunday made a workday (调休)
    assert cal.is_working_day(date(2026, 10, 10))  # a Saturday made a workday
    assert not cal.is_working_day(date(2027, 1, 1))  # one-day holiday: "to" defaults to "from"
    assert [h.name for h in site.holidays] == ["国庆节", "元旦"]
    assert site.as_dict()["holidays"][0] == {
        "name": "国庆节",
        "from": "2026-10-01",
        "to": "2026-10-07",
        "workdays": ["2026-09-27", "2026-10-10"],
    }


def test_empty_text_is_the_shipped_defaults() -> None:
    assert parse_policy("") == DEFAULT_POLICY
    assert parse_policy("# nothing set\n").escalation == clocks.EscalationPolicy()


def test_the_holiday_moves_a_handling_deadline() -> None:
    """A consultation dispatched on Wednesday 2026-09-30: 3 working days. Without the
    holiday the days are Thu 10-01, Fri 10-02, Mon 10-05 -> due 10-06 00:00; with 国庆
    (10-01..07 off, 10-10 a workday) the days are Thu 10-08, Fri 10-09 and Sat 10-10
    (调休) -> due 10-11 00:00."""
    t = make_ticket(kind=Kind.CONSULTATION)
    dispatched = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
    plain = clocks.handling_deadline(t, dispatched)
    site = parse_policy(
        "[default.handling_working_days]\nconsultation = 3\n"
        '[[holidays]]\nname = "国庆节"\nfrom = 2026-10-01\nto = 2026-10-07\n'
        "workdays = [2026-10-10]\n"
    )
    held = clocks.handling_deadline(t, dispatched, site.escalation, site.calendar)
    assert plain.date() == date(2026, 10, 6) and plain.time() == time(0)
    assert held.date() == date(2026, 10, 11) and held.time() == time(0)


def test_surge_puts_a_normal_ticket_on_the_red_clock() -> None:
    t = make_ticket(urgency=Urgency.NORMAL)
    assert clocks.first_response_deadline(t, parse_policy("surge = false").escalation) is None
    due = clocks.first_response_deadline(t, parse_policy("surge = true").escalation)
    assert due is not None
    assert due - t.call_started_at == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("surge = 1\n", [("surge", 1)]),
        ("colour = 'red'\n", [("colour", 1)]),
        ("\n[default]\nfirst_response_minutes = 0\n", [("default.first_response_minutes", 3)]),
        ("[default]\nfirst_response_minutes = '30'\n", [("default.first_response_minutes", 2)]),
        (
            "[default]\nfirst_response_minutes = 200\nsupervision_after_minutes = 100\n",
            [("default.supervision_after_minutes", 3)],
        ),
        ("[default]\nreport_by = '25:00'\n", [("default.report_by", 2)]),
        ("[default]\nreport_cutoff = '18:00'\n", [("default.report_cutoff", 2)]),
        ("[default]\nbogus = 1\n", [("default.bogus", 2)]),
        (
            "[categories.urgent_medical]\nhandling_working_days = {consultation = 0}\n",
            [("categories.urgent_medical.handling_working_days.consultation", 2)],
        ),
        (
            "[default.handling_working_days]\nenquiry = 3\n",
            [("default.handling_working_days.enquiry", 2)],
        ),
        (
            "[categories.Urgent-Medical]\nfirst_response_minutes = 5\n",
            [("categories.Urgent-Medical", 1)],
        ),
        (
            "[[holidays]]\nname = '国庆'\nfrom = 2026-10-07\nto = 2026-10-01\n",
            [("holidays[0].to", 4)],
        ),
        ("[[holidays]]\nname = '国庆'\n", [("holidays[0].from", 1)]),
        (
            "[[holidays]]\nname = 'a'\nfrom = 2026-01-01\n"
            "[[holidays]]\nname = 'b'\nfrom = '2026-13-01'\n",
            [("holidays[1].from", 6)],
        ),
        (
            "[[holidays]]\nname = 'x'\nfrom = 2026-10-01\nto = 2026-10-03\n"
            "workdays = [2026-10-02]\n",
            [("holidays[0].workdays[0]", 5)],
        ),
        ("[[holidays]]\nname = 'x'\nfrom = 2026-01-01\nto = 2026-06-01\n", [("holidays[0].to", 4)]),
        ("a = 1\nb = [\n", [("policy", None)]),
        ("x = 1\nx = 2\n", [("policy", 2)]),
    ],
)
def test_each_bad_value_is_named_by_key_and_line(
    text: str, expected: list[tuple[str, int | None]]
) -> None:
    got = problems(text)
    assert got == expected


def test_every_problem_is_reported_at_once_in_one_message() -> None:
    text = "surge = 'yes'\n[default]\nfirst_response_minutes = -5\nreport_by = 'noon'\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    message = str(caught.value)
    assert "line 1: surge: must be true or false" in message
    assert "line 3: default.first_response_minutes:" in message
    assert "line 4: default.report_by:" in message


def test_a_ticket_rule_is_looked_up_through_the_parsed_categories() -> None:
    site = parse_policy("[categories.noise]\nfirst_response_minutes = 10\n")
    t: Ticket = make_ticket(category="noise", urgency=Urgency.RED)
    assert site.escalation.rule_for(t).first_response == timedelta(minutes=10)


def test_the_documented_example_file_is_valid() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "policy.example.toml").read_text("utf-8")
    site = parse_policy(text)
    assert site.escalation.categories["rabies_vaccine"].first_response == timedelta(minutes=15)
    assert not site.calendar.is_working_day(date(2026, 10, 1))
    assert site.calendar.is_working_day(date(2026, 10, 10))
