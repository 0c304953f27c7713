"""What a ticket looks like on this desk: its indexed columns, and the on-screen preview of a
change still waiting in the outbox (local edits win on screen until acknowledged)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hotline.model import Status, Urgency
from hotline.wire_names import MutationName
from offline_cache.sqlbits import (
    OPEN_STATUSES,
    _norm_time,
    parse_time,
    phone_key,
    utc_text,
)

# Sorts after every real deadline: tickets without one come last, and the index still works.
NO_DEADLINE = "~"


def _clock_deadline(data: Mapping[str, Any], now: datetime) -> datetime | None:
    """When the ticket is (or becomes) overdue by the domain's clocks (the same rules the
    server's escalation clock runs), so a ticket taken offline counts down from its call at
    once, and "deadline before now" is exactly ``clocks.is_overdue``. None when the ticket
    cannot be read as one (a partial local preview) or no clock runs for it."""
    # the clocks and the ticket model (pydantic): imported with the first ticket written,
    # not with the cache (it opens while the desk draws its first frame)
    from pydantic import ValidationError

    from hotline import clocks
    from hotline.model import Ticket

    try:
        ticket = Ticket.model_validate(data)
    except ValidationError:
        return None
    due = clocks.next_deadline(ticket, now, dispatched_at=parse_time(data.get("dispatched_at")))
    if due is None:
        return None
    ladder = clocks.red_ladder(ticket)
    if ladder is not None and due[1] > ladder.supervision_start:
        # Past the red window the later rungs are the supervisors' deadlines: the ticket
        # itself has been overdue since the window closed.
        return ladder.supervision_start
    return due[1]


def _ticket_columns(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The indexed columns of a ticket, from its JSON (display) state."""
    status = str(data.get("status") or Status.ACCEPTED.value)
    urgency = str(data.get("urgency") or Urgency.NORMAL.value)
    call_started = parse_time(data.get("call_started_at")) or now
    deadline = parse_time(data.get("deadline_at") or data.get("next_deadline_at"))
    if deadline is None and status in OPEN_STATUSES:
        deadline = _clock_deadline(data, now)
    # The server's "overdue" is a flag its escalation job sets and never clears (a red
    # ticket answered late stays flagged): where the clocks give a deadline, they decide.
    flagged = bool(data.get("overdue")) and deadline is None
    phone = str(data.get("phone") or "")
    is_open = status in OPEN_STATUSES
    return {
        "number": data.get("number"),
        "revision": int(data.get("revision") or 0),
        "status": status,
        "urgency": urgency,
        "kind": str(data.get("kind") or "consultation"),
        "category": str(data.get("category") or ""),
        "district": str(data.get("district") or ""),
        "caller_name": str(data.get("caller_name") or ""),
        "phone": phone,
        "phone_key": phone_key(phone),
        "id_card": str(data.get("id_card") or ""),
        "address": str(data.get("address") or ""),
        "account": str(data.get("account") or ""),
        "team": data.get("team"),
        "assignee": data.get("assignee"),
        "created_by": data.get("created_by"),
        "created_at": utc_text(parse_time(data.get("created_at")) or call_started),
        "call_started_at": utc_text(call_started),
        "updated_at": _norm_time(data.get("updated_at")),
        "closed_at": _norm_time(data.get("closed_at")),
        "deadline_at": utc_text(deadline) if deadline else None,
        "deadline_key": utc_text(deadline) if deadline else NO_DEADLINE,
        "overdue": 1 if flagged else 0,
        "is_open": 1 if is_open else 0,
        "red": 1 if is_open and urgency == Urgency.RED.value else 0,
        "owner": data.get("assignee") or data.get("created_by"),
    }


def apply_local(data: dict[str, Any], name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """What a pending mutation looks like on screen, on top of ``data`` (a copy is returned).

    Only a preview: the server decides the real outcome (state machine, conflicts), and its
    state replaces this preview once the mutation is acknowledged and pulled.
    """
    out = dict(data)
    if name == MutationName.UPDATE_TICKET:
        out.update(args.get("changes") or {})
    elif name == MutationName.CHANGE_STATUS:
        out["status"] = args["to"]
    elif name == MutationName.ESCALATE:
        out["escalation_level"] = min(3, int(out.get("escalation_level") or 0) + 1)
    elif name == MutationName.MERGE_TICKET:
        out["status"] = Status.MERGED.value
        out["merged_into"] = args["into_ticket_id"]
    elif name == MutationName.RECORD_CALLBACK and args.get("satisfaction") is not None:
        out["satisfaction"] = args["satisfaction"]
        out["status"] = Status.EVALUATED.value  # 评价: scored
    return out
