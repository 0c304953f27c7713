"""The panel's alerts: which server figures cross a lead's thresholds right now.

The figures are the server's (METRICS.md); this module only compares them with the
thresholds a lead set (``AlertSettings``), in one place without Textual so it is tested
on its own and the screen stays free of rules:

- the answer rate of the last 15 minutes is under target (95 %, GB/T 33358), once at least
  ``min_offered`` calls were offered in those minutes (two missed calls out of three at night
  are not a falling answer rate);
- calls waiting are over a threshold;
- an open red ticket is within 5 minutes of its deadline (or past it); the deadline is the
  server's, or the domain's clock (``hotline.clocks``) when the server sends none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from pydantic import ValidationError

from agent_tui.lead.fmt import duration, parse_time
from hotline.clocks import next_deadline
from hotline.model import Ticket

DEADLINE_KEYS = ("deadline", "next_deadline", "due_at", "first_response_due", "deadline_at")


@dataclass(frozen=True)
class AlertSettings:
    answer_rate_target: float = 0.95
    waiting_threshold: int = 10
    deadline_warning: timedelta = timedelta(minutes=5)
    min_offered: int = 20  # offered calls in the window before the answer rate can alert


@dataclass(frozen=True)
class Alert:
    """``key`` is an i18n key (``lead.alert.*``); ``ident`` tells a new alert from a known one."""

    key: str
    ident: str
    params: dict[str, Any] = field(default_factory=dict)


def deadline_of(
    ticket: dict[str, Any], now: datetime, zone: tzinfo | None = None
) -> datetime | None:
    """The ticket's next deadline: as the server stated it (a time, or ``{"when": time}``),
    else from the domain's clocks (``hotline.clocks.next_deadline``, the desk's countdown)."""
    for key in DEADLINE_KEYS:
        value = ticket.get(key)
        if isinstance(value, dict):
            value = value.get("when") or value.get("at")
        at = parse_time(value)
        if at is not None and at.tzinfo is not None:
            return at
    try:
        model = Ticket.model_validate(ticket)
    except ValidationError:
        return None
    found = next_deadline(
        model, now, zone=zone, dispatched_at=parse_time(ticket.get("dispatched_at"))
    )
    return None if found is None else found[1]


def ticket_label(ticket: dict[str, Any]) -> str:
    return str(ticket.get("number") or str(ticket.get("id", ""))[:8])


def compute_alerts(
    last_15m: dict[str, Any] | None,
    red_tickets: list[dict[str, Any]],
    now: datetime,
    settings: AlertSettings,
    zone: tzinfo | None = None,
) -> list[Alert]:
    """Alerts from the 15-minute summary (calls + queue now) and the open red tickets."""
    out: list[Alert] = []
    if last_15m:
        calls = last_15m.get("calls") or {}
        rate = calls.get("answer_rate")
        offered = int(calls.get("offered") or 0)
        enough = offered > 0 and offered >= settings.min_offered
        if rate is not None and enough and rate < settings.answer_rate_target:
            out.append(
                Alert(
                    "lead.alert.answer_rate",
                    "answer_rate",
                    {
                        "rate": f"{rate * 100:.1f}%",
                        "target": f"{settings.answer_rate_target * 100:.0f}%",
                    },
                )
            )
        waiting = int((last_15m.get("queue_now") or {}).get("calls_waiting") or 0)
        if waiting > settings.waiting_threshold:
            out.append(
                Alert(
                    "lead.alert.waiting",
                    "waiting",
                    {"waiting": waiting, "threshold": settings.waiting_threshold},
                )
            )
    for ticket in red_tickets:
        if ticket.get("urgency") != "red":
            continue  # the list also holds overdue normal tickets: no 5-minute alert for them
        due = deadline_of(ticket, now, zone)
        if due is None:
            continue
        left = due - now
        if left <= settings.deadline_warning:
            key = "lead.alert.red_overdue" if left.total_seconds() < 0 else "lead.alert.red_due"
            out.append(
                Alert(
                    key,
                    f"red:{ticket.get('id')}:{key}",
                    {"ticket": ticket_label(ticket), "left": duration(left.total_seconds())},
                )
            )
    return out
