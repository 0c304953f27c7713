"""The clocks of a ticket: first response, handling deadline and the escalation ladder.

Every function here is a pure function of (ticket, now, policy, calendar, time zone), so the
server's escalation job, the desk's countdowns and the tests all agree, offline or not.
Deadlines are computed in the site's time zone (Asia/Shanghai by default) because "17:00 the
same day" and "12:00 the next day" are local wall-clock times; returned datetimes are aware,
in that zone. Naive timestamps on a ticket (``first_response_at``, ``closed_at``) are UTC.

The rules (defaults from DOMAIN.md; every number is a field of ``CategoryRule``):

Red tickets (``urgency == red``; in a surge, ``EscalationPolicy(surge=True)``, every ticket),
counted from the start of the call (``call_started_at``), in calendar time (the urgent desk
works every day):

- F = call start + 30 min: first response due. Missed (no ``first_response_at`` at or before
  F) -> level AGGREGATION (汇总) from F on.
- S = call start + 2 h: the red handling window. Still unresolved after S -> level
  SPECIAL_SUPERVISION (专人督办); the handling unit reports by R.
- R = 17:00 on S's local day; if S is after 16:00 (less than an hour left) 17:00 the next day.
  Still unresolved after R -> level CITY_SUPERVISION (提级), to be submitted to the city
  government's supervision office by C.
- C = 12:00 on the day after R.

"Unresolved" means not finished (closed, callback, evaluated, merged): a unit's reply that
did not solve the matter is exactly what special supervision is for. A finished ticket stops
its clocks at ``closed_at``: its level is what it reached by then and it is never overdue.
The level never goes down: it is at least the ticket's stored ``escalation_level`` (a manual
escalation is never undone by the clock).

Normal tickets have no ladder (only manual escalation). Once dispatched they must be handled
(the unit replies) within N working days per kind (``handling_working_days``: consultation 3,
help 5, complaint 10, report 10, suggestion 10, praise 3), counted from the day after
dispatch and ending at 24:00 of the Nth working day
(``WorkCalendar``: weekends, holidays, make-up workdays).

Overdue is sticky: a red ticket is overdue while it has no first response after F, and from S
on until it is finished; a dispatched normal ticket is overdue after its handling deadline
until the unit replies. Every comparison is strict: exactly at a deadline is still in time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotline.model import EscalationLevel, Kind, Status, Ticket, Urgency
from hotline.states import FINISHED_STATUSES

DEFAULT_ZONE = "Asia/Shanghai"
# Shanghai has kept UTC+8 without daylight saving since 1991: a safe stand-in on a machine
# without the tz database (Windows without the ``tzdata`` package).
_SHANGHAI_FIXED = timezone(timedelta(hours=8), "CST")

DEFAULT_HANDLING_WORKING_DAYS: dict[Kind, int] = {
    Kind.CONSULTATION: 3,
    Kind.HELP: 5,
    Kind.COMPLAINT: 10,
    Kind.REPORT: 10,
    Kind.SUGGESTION: 10,
    Kind.PRAISE: 3,
}

# What ``next_deadline`` reports, for the desk's i18n tables.
FIRST_RESPONSE = "first_response"  # red: respond within 30 min of the call
RESOLUTION = "resolution"  # red: resolve within the red window, or special supervision
SUPERVISION_REPORT = "supervision_report"  # the unit reports to the supervision desk by 17:00
CITY_SUBMISSION = "city_submission"  # submitted to the city supervision office by 12:00
HANDLING = "handling"  # normal dispatched ticket: the unit replies within N working days

# Names for people, (Chinese, English): the countdown's subject and the ladder's rungs.
DEADLINE_LABELS: dict[str, tuple[str, str]] = {
    FIRST_RESPONSE: ("首次响应", "First response"),
    RESOLUTION: ("紧急办理", "Urgent handling"),
    SUPERVISION_REPORT: ("督办回报", "Report to supervision"),
    CITY_SUBMISSION: ("提级市督查室", "To city supervision office"),
    HANDLING: ("办理时限", "Handling deadline"),
}
LEVEL_LABELS: dict[EscalationLevel, tuple[str, str]] = {
    EscalationLevel.AGENT: ("话务员", "Agent"),
    EscalationLevel.AGGREGATION: ("汇总", "Aggregation"),
    EscalationLevel.SPECIAL_SUPERVISION: ("专人督办", "Special supervision"),
    EscalationLevel.CITY_SUPERVISION: ("提级督办", "City supervision"),
}


def deadline_label(what: str, lang: str = "zh") -> str:
    pair = DEADLINE_LABELS.get(what, (what, what))
    return pair[1] if lang == "en" else pair[0]


def level_label(level: EscalationLevel | int, lang: str = "zh") -> str:
    pair = LEVEL_LABELS[EscalationLevel(level)]
    return pair[1] if lang == "en" else pair[0]


HANDLING_STATUSES: frozenset[Status] = frozenset(
    {Status.DISPATCHED, Status.HANDLING, Status.SUPERVISED}
)


def resolve_zone(zone: tzinfo | str | None = None) -> tzinfo:
    """A ``tzinfo`` from a zone, a zone name, or ``None`` (Asia/Shanghai)."""
    if isinstance(zone, tzinfo):
        return zone
    name = zone or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:
            return _SHANGHAI_FIXED
        raise ValueError(f"unknown time zone {name!r}") from None


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        if what == "now":
            raise ValueError("now must be a timezone-aware datetime")
        return at.replace(tzinfo=UTC)
    return at


# ---------------------------------------------------------------- configuration


class CategoryRule(BaseModel):
    """The clock settings of one category (or the default for all)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response: timedelta = Field(default=timedelta(minutes=30), gt=timedelta(0))
    supervision_after: timedelta = Field(default=timedelta(hours=2), gt=timedelta(0))
    report_by: time = time(17, 0)
    report_cutoff: time = time(16, 0)
    city_by: time = time(12, 0)
    handling_working_days: dict[Kind, int] = Field(
        default_factory=lambda: dict(DEFAULT_HANDLING_WORKING_DAYS)
    )

    @model_validator(mode="after")
    def _consistent(self) -> CategoryRule:
        if self.supervision_after < self.first_response:
            raise ValueError("supervision_after must not be shorter than first_response")
        if self.report_cutoff > self.report_by:
            raise ValueError("report_cutoff must not be later than report_by")
        for kind, days in self.handling_working_days.items():
            if days < 1:
                raise ValueError(f"handling_working_days.{kind.value} must be at least 1")
        return self

    def working_days_for(self, kind: Kind) -> int:
        return self.handling_working_days.get(kind, DEFAULT_HANDLING_WORKING_DAYS[kind])


class EscalationPolicy(BaseModel):
    """Clock settings: a default rule and overrides per category.

    A ticket's rule is looked up by its urgent sub-category (``"rabies_vaccine"``), then by
    its ``category`` (``"urgent_medical"``), then the default. ``surge=True`` runs the red
    clock on every ticket (提速提级 for non-urgent tickets during a surge).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: CategoryRule = Field(default_factory=CategoryRule)
    categories: dict[str, CategoryRule] = Field(default_factory=dict)
    surge: bool = False

    def rule_for(self, ticket: Ticket) -> CategoryRule:
        if ticket.urgent_subcategory is not None:
            rule = self.categories.get(ticket.urgent_subcategory.value)
            if rule is not None:
                return rule
        return self.categories.get(ticket.category, self.default)

    def runs_red_clock(self, ticket: Ticket) -> bool:
        return self.surge or ticket.urgency == Urgency.RED


# Ten years of days: no real calendar has that many holidays in a row.
_MAX_CALENDAR_SCAN = 3660


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: Monday to Friday, minus ``holidays``, plus make-up ``workdays`` (调休)."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday

    @classmethod
    def of(
        cls,
        holidays: Iterable[date | str] = (),
        workdays: Iterable[date | str] = (),
    ) -> WorkCalendar:
        """Build from dates or ISO strings (``"2026-10-01"``), as read from a config file."""

        def dates(items: Iterable[date | str]) -> frozenset[date]:
            return frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in items)

        return cls(holidays=dates(holidays), workdays=dates(workdays))

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day not in self.holidays and day.weekday() not in self.weekend

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself is not counted)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        current = day
        for _ in range(_MAX_CALENDAR_SCAN):
            current += timedelta(days=1)
            if self.is_working_day(current):
                n -= 1
                if n == 0:
                    return current
        raise ValueError("the work calendar has no working days in the next ten years")


# ---------------------------------------------------------------- deadlines


def _at(day: date, clock: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def _call_start(ticket: Ticket, zone: tzinfo) -> datetime:
    return _aware(ticket.call_started_at, "call_started_at").astimezone(zone)


def first_response_deadline(
    ticket: Ticket,
    policy: EscalationPolicy | None = None,
    zone: tzinfo | str | None = None,
) -> datetime | None:
    """F: when the first response to a red ticket is due; ``None`` for a normal ticket."""
    policy = policy or EscalationPolicy()
    if not policy.runs_red_clock(ticket):
        return None
    return _call_start(ticket, resolve_zone(zone)) + policy.rule_for(ticket).first_response


@dataclass(frozen=True)
class RedLadder:
    """The four times of a red ticket's ladder (module docstring), aware in the site zone."""

    first_response: datetime  # F
    supervision_start: datetime  # S
    supervision_report: datetime  # R
    city_submission: datetime  # C


def red_ladder(
    ticket: Ticket,
    policy: EscalationPolicy | None = None,
    zone: tzinfo | str | None = None,
) -> RedLadder | None:
    """F, S, R, C of a ticket on the red clock; ``None`` for a normal ticket."""
    policy = policy or EscalationPolicy()
    if not policy.runs_red_clock(ticket):
        return None
    tz = resolve_zone(zone)
    rule = policy.rule_for(ticket)
    start = _call_start(ticket, tz)
    supervision = start + rule.supervision_after
    report_day = supervision.date()
    if supervision.time() > rule.report_cutoff:
        report_day += timedelta(days=1)
    report = _at(report_day, rule.report_by, tz)
    city = _at(report_day + timedelta(days=1), rule.city_by, tz)
    return RedLadder(start + rule.first_response, supervision, report, city)


def handling_deadline(
    ticket: Ticket,
    dispatched_at: datetime,
    policy: EscalationPolicy | None = None,
    calendar: WorkCalendar | None = None,
    zone: tzinfo | str | None = None,
) -> datetime:
    """When the handling unit must have replied, for a ticket dispatched at ``dispatched_at``.

    Red tickets: the end of the red window S (from the call, not from the dispatch).
    Normal tickets: 24:00 of the N-th working day after the local day of the dispatch.
    """
    policy = policy or EscalationPolicy()
    calendar = calendar or WorkCalendar()
    tz = resolve_zone(zone)
    ladder = red_ladder(ticket, policy, tz)
    if ladder is not None:
        return ladder.supervision_start
    days = policy.rule_for(ticket).working_days_for(ticket.kind)
    local_day = _aware(dispatched_at, "dispatched_at").astimezone(tz).date()
    last_day = calendar.add_working_days(local_day, days)
    return _at(last_day + timedelta(days=1), time(0), tz)


def _finished(ticket: Ticket) -> bool:
    return ticket.status in FINISHED_STATUSES


def _responded_by(ticket: Ticket, at: datetime) -> bool:
    if ticket.first_response_at is None:
        return False
    return _aware(ticket.first_response_at, "first_response_at") <= at


def escalation_level_due(
    ticket: Ticket,
    now: datetime,
    policy: EscalationPolicy | None = None,
    calendar: WorkCalendar | None = None,
    zone: tzinfo | str | None = None,
) -> EscalationLevel:
    """The rung of the ladder the ticket should be on at ``now`` (never below its stored one).

    ``calendar`` is accepted for a uniform signature; the red ladder runs in calendar time.
    """
    now = _aware(now, "now")
    stored = EscalationLevel(ticket.escalation_level)
    ladder = red_ladder(ticket, policy, zone)
    if ladder is None:
        return stored
    until = now
    if _finished(ticket):
        stopped = ticket.closed_at or ticket.updated_at
        if stopped is None:
            return stored
        until = min(now, _aware(stopped, "closed_at"))
    level = EscalationLevel.AGENT
    if until > ladder.first_response and not _responded_by(ticket, ladder.first_response):
        level = EscalationLevel.AGGREGATION
    if until > ladder.supervision_start:
        level = EscalationLevel.SPECIAL_SUPERVISION
    if until > ladder.supervision_report:
        level = EscalationLevel.CITY_SUPERVISION
    return max(level, stored)


def _handling_deadline_now(
    ticket: Ticket,
    policy: EscalationPolicy,
    calendar: WorkCalendar,
    zone: tzinfo,
    dispatched_at: datetime | None,
) -> datetime | None:
    if ticket.status not in HANDLING_STATUSES:
        return None
    return handling_deadline(ticket, dispatched_at or ticket.created_at, policy, calendar, zone)


def is_overdue(
    ticket: Ticket,
    now: datetime,
    policy: EscalationPolicy | None = None,
    calendar: WorkCalendar | None = None,
    zone: tzinfo | str | None = None,
    *,
    dispatched_at: datetime | None = None,
) -> bool:
    """Past a deadline with the obligation still open (module docstring). Finished: never.

    ``dispatched_at`` (normal tickets) defaults to ``created_at``: intake dispatches at once.
    """
    now = _aware(now, "now")
    if _finished(ticket):
        return False
    policy = policy or EscalationPolicy()
    tz = resolve_zone(zone)
    ladder = red_ladder(ticket, policy, tz)
    if ladder is not None:
        if now > ladder.first_response and not _responded_by(ticket, now):
            return True
        return now > ladder.supervision_start
    deadline = _handling_deadline_now(ticket, policy, calendar or WorkCalendar(), tz, dispatched_at)
    return deadline is not None and now > deadline


NO_FIRST_RESPONSE = "no_first_response"  # red: past F with no first response
RED_HANDLING_LATE = "red_handling_late"  # red: responded, but unresolved past S
HANDLING_LATE = "handling_late"  # normal: the unit has not replied by the handling deadline


def overdue_cause(
    ticket: Ticket,
    now: datetime,
    policy: EscalationPolicy | None = None,
    calendar: WorkCalendar | None = None,
    zone: tzinfo | str | None = None,
    *,
    dispatched_at: datetime | None = None,
) -> str | None:
    """Why ``is_overdue`` holds at ``now`` (None when it does not): a red ticket with no first
    response past F is ``NO_FIRST_RESPONSE``; one that was answered in time (or late, after
    F) but is still unresolved past S is ``RED_HANDLING_LATE``; a normal ticket past its
    handling deadline is ``HANDLING_LATE``."""
    if not is_overdue(ticket, now, policy, calendar, zone, dispatched_at=dispatched_at):
        return None
    now = _aware(now, "now")
    ladder = red_ladder(ticket, policy or EscalationPolicy(), resolve_zone(zone))
    if ladder is None:
        return HANDLING_LATE
    if now > ladder.first_response and not _responded_by(ticket, now):
        return NO_FIRST_RESPONSE
    return RED_HANDLING_LATE


def next_deadline(
    ticket: Ticket,
    now: datetime,
    policy: EscalationPolicy | None = None,
    calendar: WorkCalendar | None = None,
    zone: tzinfo | str | None = None,
    *,
    dispatched_at: datetime | None = None,
) -> tuple[str, datetime] | None:
    """What the queue's countdown shows: ``(what, when)``, or ``None`` when no clock runs.

    Red: a missing first response first (``"first_response"``, in the past once missed);
    otherwise the next rung: ``"resolution"`` (S), then ``"supervision_report"`` (R), then
    ``"city_submission"`` (C, which stays once passed). Normal dispatched tickets:
    ``"handling"``. ``when`` may lie in the past: the countdown then shows how late it is.
    """
    now = _aware(now, "now")
    if _finished(ticket):
        return None
    policy = policy or EscalationPolicy()
    tz = resolve_zone(zone)
    ladder = red_ladder(ticket, policy, tz)
    if ladder is not None:
        if not _responded_by(ticket, now) and now <= ladder.supervision_start:
            return FIRST_RESPONSE, ladder.first_response
        if now <= ladder.supervision_start:
            return RESOLUTION, ladder.supervision_start
        if now <= ladder.supervision_report:
            return SUPERVISION_REPORT, ladder.supervision_report
        return CITY_SUBMISSION, ladder.city_submission
    deadline = _handling_deadline_now(ticket, policy, calendar or WorkCalendar(), tz, dispatched_at)
    return None if deadline is None else (HANDLING, deadline)
