"""Reconciling telephony events into one row per call, whatever order they arrive in.

Each event type owns one timestamp column; applying an event fills its column (the first
report wins, so a replay never moves a time) and the call's status is *derived* from which
columns are filled. An ``ended`` that arrives before its ``answered`` is therefore simply
kept: the call reads as "ended, not answered" (an abandon) until the ``answered`` event
arrives and the same row reads as an answered call. Nothing is ever refused for its order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.callbacks import MissedCall, MissReason
from hotline.metrics import CallRecord, as_utc
from hotline_server.live.wire import CallEvent, CallEventType

TIME_COLUMN: dict[CallEventType, str] = {
    CallEventType.OFFERED: "offered_at",
    CallEventType.OFFERED_TO_SEAT: "seat_offered_at",
    CallEventType.ANSWERED: "answered_at",
    CallEventType.ABANDONED: "abandoned_at",
    CallEventType.ENDED: "ended_at",
    CallEventType.AFTER_CALL_ENDED: "after_call_ended_at",
}
TIME_COLUMNS = tuple(TIME_COLUMN.values())

# The seat state an agent's seat moves to when the phone system reports this event.
SEAT_EFFECT: dict[CallEventType, str] = {
    CallEventType.ANSWERED: "on_call",
    CallEventType.ENDED: "after_call",
    CallEventType.AFTER_CALL_ENDED: "ready",
}


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else as_utc(at)


def merge_event(row: dict[str, Any] | None, ev: CallEvent) -> dict[str, Any]:
    """The call row after ``ev``: a new dict (``row`` is not changed)."""
    new: dict[str, Any] = dict(row) if row else {"call_id": ev.call_id}
    for col in TIME_COLUMNS:
        new.setdefault(col, None)
    new.setdefault("queue", None)
    new.setdefault("caller_number", None)
    new.setdefault("agent", None)
    new.setdefault("hold_seconds", 0.0)
    col = TIME_COLUMN[ev.type]
    if new[col] is None:
        new[col] = ev.at
    if ev.queue and not new["queue"]:
        new["queue"] = ev.queue
    if ev.caller_number and not new["caller_number"]:
        new["caller_number"] = ev.caller_number
    # The seat that answered wins over the seat it rang at first.
    if ev.agent and (ev.type == CallEventType.ANSWERED or not new["agent"]):
        new["agent"] = ev.agent
    if ev.hold_seconds is not None:
        new["hold_seconds"] = ev.hold_seconds
    return new


def first_known_time(row: dict[str, Any]) -> datetime | None:
    times = [as_utc(row[c]) for c in TIME_COLUMNS if row.get(c) is not None]
    return min(times) if times else None


def call_status(row: dict[str, Any]) -> str:
    """queued | ringing | answered | ended | abandoned | expired, from the filled columns
    (an event from the phone system always wins over the server's own expiry)."""
    if row.get("answered_at") is not None:
        return "ended" if row.get("ended_at") is not None else "answered"
    if row.get("abandoned_at") is not None or row.get("ended_at") is not None:
        return "abandoned"
    if row.get("expired_at") is not None:
        return "expired"
    if row.get("seat_offered_at") is not None:
        return "ringing"
    return "queued"


def to_record(row: dict[str, Any]) -> CallRecord | None:
    """The metrics view of a call row; None for a call with no known time at all."""
    offered = _utc(row.get("offered_at")) or first_known_time(row)
    if offered is None:
        return None
    answered = _utc(row.get("answered_at"))
    abandoned = _utc(row.get("abandoned_at"))
    ended = _utc(row.get("ended_at"))
    if answered is None and abandoned is None and ended is not None:
        abandoned = ended  # hung up before anyone answered, as far as we know yet
    return CallRecord(
        call_id=str(row["call_id"]),
        offered_at=offered,
        queue=row.get("queue") or "default",
        caller_number=row.get("caller_number") or "",
        agent=row.get("agent"),
        answered_at=answered,
        abandoned_at=abandoned,
        ended_at=ended,
        after_call_ended_at=_utc(row.get("after_call_ended_at")),
        hold_seconds=float(row.get("hold_seconds") or 0.0),
        expired_at=_utc(row.get("expired_at")),
    )


def missed_call(row: dict[str, Any]) -> MissedCall | None:
    """The call as a callback needs it, when it was missed (abandoned, or ended unanswered,
    or expired by the server) and has a number to call back; else None."""
    if row.get("answered_at") is not None or not row.get("caller_number"):
        return None
    abandoned = _utc(row.get("abandoned_at")) or _utc(row.get("ended_at"))
    missed_at = abandoned or _utc(row.get("expired_at"))
    offered = _utc(row.get("offered_at")) or first_known_time(row)
    if missed_at is None or offered is None:
        return None
    return MissedCall(
        call_id=str(row["call_id"]),
        caller_number=str(row["caller_number"]),
        queue=str(row.get("queue") or "default"),
        offered_at=offered,
        missed_at=missed_at,
        reason=MissReason.ABANDONED if abandoned is not None else MissReason.EXPIRED,
    )


def last_event_time(row: dict[str, Any]) -> datetime | None:
    times = [as_utc(row[c]) for c in TIME_COLUMNS if row.get(c) is not None]
    return max(times) if times else None
