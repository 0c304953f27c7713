"""The escalation clock: mark red tickets overdue and climb the ladder, as ordinary changes.

``run_escalation_once(engine, now)`` is the whole job, driven by an injected ``now`` (tests
call it directly; the server's leader calls it every interval). The rules are the domain's
(``hotline.clocks``): a red ticket needs a first response within 30 minutes of the call;
the ladder is agent -> aggregation -> special supervision (report by 17:00 the same day) ->
city supervision (by 12:00 the next day). Each step is written through the core's ticket
update, so it gets a revision, an audit row with its reason, and a change-log entry that
clients pull and leads see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from hotline_server.live import core


def run_escalation_once(
    engine: Engine,
    now: datetime,
    *,
    tz: str = "Asia/Shanghai",
    policy: Any = None,
    calendar: Any = None,
) -> int | None:
    """One pass over the open red tickets; returns the last change-log seq written, if any."""
    from zoneinfo import ZoneInfo

    from hotline import clocks
    from hotline.model import EscalationLevel

    zone = ZoneInfo(tz)
    policy = policy if policy is not None else core.escalation_policy()
    calendar = calendar if calendar is not None else core.work_calendar()
    last_seq: int | None = None
    with core.write(engine) as conn:
        for ticket in core.open_red_tickets(conn, surge=bool(getattr(policy, "surge", False))):
            changes: dict[str, Any] = {}
            reasons: list[str] = []
            cause = (
                None
                if ticket.overdue
                else clocks.overdue_cause(ticket, now, policy, calendar, zone)
            )
            if cause is not None:
                changes["overdue"] = True
                reasons.append(_overdue_reason(cause, ticket, policy, zone))
            due = EscalationLevel(clocks.escalation_level_due(ticket, now, policy, calendar, zone))
            if due > ticket.escalation_level:
                changes["escalation_level"] = int(due)
                ladder = clocks.red_ladder(ticket, policy, zone)
                for level in range(int(ticket.escalation_level) + 1, int(due) + 1):
                    if ladder is None:
                        reasons.append(f"escalated to {due.name.lower()} by the escalation clock")
                        break
                    if level == EscalationLevel.AGGREGATION and not _missed_first(ticket, ladder):
                        continue  # answered in time: this rung was skipped, not climbed
                    reasons.append(_rung_reason(EscalationLevel(level), ladder))
            if changes:
                seq = core.system_update_ticket(conn, ticket, changes, "; ".join(reasons), now)
                last_seq = seq if seq is not None else last_seq
    return last_seq


def _missed_first(ticket: Any, ladder: Any) -> bool:
    responded = ticket.first_response_at
    if responded is None:
        return True
    if responded.tzinfo is None:
        from datetime import UTC

        responded = responded.replace(tzinfo=UTC)
    return bool(responded > ladder.first_response)


def _rung_reason(level: Any, ladder: Any) -> str:
    """Why the clock put a ticket on ``level``, with the deadline that rung sets (local time)."""
    from hotline.model import EscalationLevel

    def hm(at: datetime) -> str:
        return at.strftime("%Y-%m-%d %H:%M")

    if level == EscalationLevel.AGGREGATION:
        return (
            f"escalated to aggregation (汇总): no first response by {hm(ladder.first_response)}; "
            "handed to the district's ticket group"
        )
    if level == EscalationLevel.SPECIAL_SUPERVISION:
        return (
            f"escalated to special supervision (专人督办): unresolved at "
            f"{hm(ladder.supervision_start)}; the handling unit reports by "
            f"{hm(ladder.supervision_report)}"
        )
    return (
        f"escalated to city supervision (提级): unresolved at the report deadline "
        f"{hm(ladder.supervision_report)}; submitted to the city supervision office by "
        f"{hm(ladder.city_submission)}"
    )


def _overdue_reason(cause: str, ticket: Any, policy: Any, zone: Any) -> str:
    """What made the ticket overdue, as it happened: no first response by F, or a response
    given but the matter still unresolved at the end of the red window S."""
    from hotline import clocks

    ladder = clocks.red_ladder(ticket, policy, zone)
    if cause == clocks.NO_FIRST_RESPONSE and ladder is not None:
        due = ladder.first_response.strftime("%Y-%m-%d %H:%M")
        return f"overdue: no first response by {due} (a red ticket's first-response deadline)"
    if cause == clocks.RED_HANDLING_LATE and ladder is not None:
        due = ladder.supervision_start.strftime("%Y-%m-%d %H:%M")
        return (
            f"overdue: first response given, but still unresolved at {due} "
            "(the end of a red ticket's handling window)"
        )
    return "overdue: the handling unit has not replied by the handling deadline"
