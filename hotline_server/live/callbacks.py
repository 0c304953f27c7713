"""Database work of missed-call callbacks (漏接回拨) and of calls the server ends itself.

The rules are :mod:`hotline.callbacks`; this module keeps the list in ``live_callbacks``
(one open entry per caller number, by the unique ``open_number``) and the attempts in
``live_callback_attempts``. Every function runs in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline.callbacks import (
    CallbackOutcome,
    CallbackRefused,
    CallbackStatus,
    EndReason,
    MissedCall,
    check_claim,
    check_record,
    closes,
)
from hotline.metrics import CallbackRecord, as_utc
from hotline_server.live.calls import last_event_time, missed_call
from hotline_server.live.schema import (
    WAITING_CALL,
    live_callback_attempts,
    live_callbacks,
    live_calls,
)

# ---------------------------------------------------------------- from calls to the list


def calls_changed(
    conn: Connection,
    before: dict[str, dict[str, Any] | None],
    after: dict[str, dict[str, Any]],
    *,
    now: datetime,
) -> bool:
    """Bring the callback list up to date with calls that changed (``before`` -> ``after``
    by call id): a call newly missed goes onto its number's entry; a call newly answered
    closes its number's unclaimed entry (the caller got through). True if the list changed."""
    missed: list[MissedCall] = []
    answered: list[dict[str, Any]] = []
    for call_id, row in after.items():
        old = before.get(call_id)
        now_missed = missed_call(row)
        if now_missed is not None and (old is None or missed_call(old) is None):
            missed.append(now_missed)
        if row.get("answered_at") is not None and (old is None or old.get("answered_at") is None):
            answered.append(row)
    changed = False
    for m in sorted(missed, key=lambda m: (m.missed_at, m.call_id)):
        add_missed(conn, m, now=now)
        changed = True
    numbers = sorted({str(r["caller_number"]) for r in answered if r.get("caller_number")})
    if numbers:  # one read for the batch; most answered callers have nothing open
        c = live_callbacks.c
        open_numbers = set(
            conn.execute(
                sa.select(c.open_number).where(
                    c.open_number.in_(numbers), c.status == CallbackStatus.OPEN.value
                )
            ).scalars()
        )
        for row in answered:
            if row.get("caller_number") in open_numbers:
                changed = _caller_got_through(conn, row, now=now) or changed
    return changed


def add_missed(conn: Connection, m: MissedCall, *, now: datetime) -> None:
    """Put ``m`` on its number's open entry, making the entry if there is none."""
    from hotline_server.live.store import insert_ignore

    number = m.caller_number
    inserted = insert_ignore(
        conn,
        live_callbacks,
        {
            "id": str(uuid.uuid4()),
            "caller_number": number,
            "open_number": number,
            "status": CallbackStatus.OPEN.value,
            "reason": m.reason.value,
            "queue": m.queue,
            "first_call_id": m.call_id,
            "last_call_id": m.call_id,
            "missed_calls": 1,
            "first_missed_at": m.missed_at,
            "last_missed_at": m.missed_at,
            "last_wait_seconds": m.wait_seconds,
            "longest_wait_seconds": m.wait_seconds,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        },
    )
    if inserted:
        return
    row = _open_entry(conn, number)
    if row is None:  # closed between the two statements: a new entry then
        add_missed(conn, m, now=now)
        return
    values: dict[str, Any] = {
        "missed_calls": int(row["missed_calls"]) + 1,
        "longest_wait_seconds": max(float(row["longest_wait_seconds"]), m.wait_seconds),
        "updated_at": now,
    }
    if m.missed_at >= as_utc(row["last_missed_at"]):
        values.update(
            last_call_id=m.call_id,
            last_missed_at=m.missed_at,
            last_wait_seconds=m.wait_seconds,
            reason=m.reason.value,
        )
    if m.missed_at < as_utc(row["first_missed_at"]):  # an older miss arriving late
        values.update(first_call_id=m.call_id, first_missed_at=m.missed_at)
    conn.execute(live_callbacks.update().where(live_callbacks.c.id == row["id"]).values(**values))


def _open_entry(conn: Connection, number: str) -> Any:
    """The caller's open entry, locked for this transaction (None: there is none)."""
    return (
        conn.execute(
            sa.select(live_callbacks)
            .where(live_callbacks.c.open_number == number)
            .with_for_update()
        )
        .mappings()
        .first()
    )


def _caller_got_through(conn: Connection, call: dict[str, Any], *, now: datetime) -> bool:
    number = call.get("caller_number")
    if not number:
        return False
    row = _open_entry(conn, number)
    if row is None or row["status"] != CallbackStatus.OPEN.value:
        return False  # nothing open, or an agent is calling back already: theirs to finish
    answered_at = as_utc(call["answered_at"])
    if answered_at < as_utc(row["last_missed_at"]) and call["call_id"] not in (
        row["first_call_id"],
        row["last_call_id"],
    ):
        return False  # answered before the latest miss: that one still needs a callback
    _close(conn, row["id"], CallbackOutcome.CALLED_AGAIN, by="system", at=now)
    return True


def _close(
    conn: Connection, cb_id: str, outcome: CallbackOutcome, *, by: str, at: datetime
) -> None:
    conn.execute(
        live_callbacks.update()
        .where(live_callbacks.c.id == cb_id)
        .values(
            status=CallbackStatus.DONE.value,
            open_number=None,
            outcome=outcome.value,
            done_at=at,
            done_by=by,
            updated_at=at,
        )
    )


# ---------------------------------------------------------------- calls the server ends


_WAITING = WAITING_CALL  # the partial index ix_live_calls_waiting covers exactly these


def expire_stale_calls(conn: Connection, *, now: datetime, timeout: timedelta) -> list[str]:
    """Waiting calls (queued or ringing) with no event for ``timeout``: expired, as of their
    last event + ``timeout`` (not of when the server noticed), and onto the callback list.
    Returns the ids of the calls expired."""
    rows = conn.execute(
        sa.select(live_calls)
        .where(_WAITING, live_calls.c.first_at <= now - timeout)
        .order_by(live_calls.c.call_id)
        .with_for_update()
    ).mappings()
    return _end_calls(conn, rows, now=now, when=lambda r: _expiry_time(r, timeout, now))


def _expiry_time(row: dict[str, Any], timeout: timedelta, now: datetime) -> dict[str, Any] | None:
    last = last_event_time(row)
    if last is None or last + timeout > now:
        return None
    return {"expired_at": last + timeout, "end_reason": EndReason.TIMEOUT.value}


def end_seat_calls(conn: Connection, agent: str, *, at: datetime, now: datetime) -> list[str]:
    """``agent``'s seat signed out at ``at``: the call it held ends then (answered, no end
    event yet) and a call ringing there expires then. Calls that began after ``at`` are
    not touched (a late sign-out report ends only what it could have held)."""
    at = as_utc(at)
    rows = conn.execute(
        sa.select(live_calls)
        .where(
            live_calls.c.agent == agent,
            live_calls.c.ended_at.is_(None),
            live_calls.c.abandoned_at.is_(None),
            live_calls.c.expired_at.is_(None),
            sa.or_(
                live_calls.c.answered_at <= at,
                sa.and_(
                    live_calls.c.answered_at.is_(None),
                    live_calls.c.seat_offered_at.is_not(None),
                    live_calls.c.seat_offered_at <= at,
                ),
            ),
        )
        .order_by(live_calls.c.call_id)
        .with_for_update()
    ).mappings()

    def when(row: dict[str, Any]) -> dict[str, Any]:
        reason = EndReason.SEAT_SIGNED_OUT.value
        if row.get("answered_at") is not None:
            return {"ended_at": at, "end_reason": reason}
        return {"expired_at": at, "end_reason": reason}

    return _end_calls(conn, rows, now=now, when=when)


def _end_calls(
    conn: Connection,
    rows: Iterable[Any],
    *,
    now: datetime,
    when: Any,
) -> list[str]:
    before: dict[str, dict[str, Any] | None] = {}
    after: dict[str, dict[str, Any]] = {}
    for r in rows:
        row = dict(r)
        values = when(row)
        if values is None:
            continue
        values["updated_at"] = now
        conn.execute(
            live_calls.update().where(live_calls.c.call_id == row["call_id"]).values(**values)
        )
        before[row["call_id"]] = row
        after[row["call_id"]] = {**row, **values}
    if after:
        calls_changed(conn, before, after, now=now)
    return sorted(after)


# ---------------------------------------------------------------- an agent's work


def get_callback(conn: Connection, cb_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    q = sa.select(live_callbacks).where(live_callbacks.c.id == cb_id)
    if lock:
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def _must_get(conn: Connection, cb_id: str) -> dict[str, Any]:
    row = get_callback(conn, cb_id, lock=True)
    if row is None:
        raise CallbackRefused(f"no callback {cb_id}", "id", status=404)
    return row


def claim(conn: Connection, cb_id: str, agent: str, *, now: datetime) -> dict[str, Any]:
    row = _must_get(conn, cb_id)
    check_claim(row["status"], row["claimed_by"], agent)
    if row["status"] != CallbackStatus.CLAIMED.value:
        conn.execute(
            live_callbacks.update()
            .where(live_callbacks.c.id == cb_id)
            .values(
                status=CallbackStatus.CLAIMED.value,
                claimed_by=agent,
                claimed_at=now,
                updated_at=now,
            )
        )
    out = get_callback(conn, cb_id)
    assert out is not None
    return out


def release(conn: Connection, cb_id: str, agent: str, *, now: datetime) -> dict[str, Any]:
    """``agent`` gives a claimed entry back to the list without calling."""
    row = _must_get(conn, cb_id)
    check_claim(row["status"], row["claimed_by"], agent)
    conn.execute(
        live_callbacks.update()
        .where(live_callbacks.c.id == cb_id)
        .values(status=CallbackStatus.OPEN.value, claimed_by=None, claimed_at=None, updated_at=now)
    )
    out = get_callback(conn, cb_id)
    assert out is not None
    return out


def record_outcome(
    conn: Connection,
    cb_id: str,
    agent: str,
    outcome: CallbackOutcome,
    note: str | None,
    *,
    now: datetime,
) -> dict[str, Any]:
    """One callback attempt, recorded against the entry's latest missed call; the entry
    closes or goes back on the list (``hotline.callbacks.closes``)."""
    row = _must_get(conn, cb_id)
    check_record(row["status"], row["claimed_by"], agent)
    attempts = int(row["attempts"]) + 1
    conn.execute(
        live_callback_attempts.insert().values(
            callback_id=cb_id,
            call_id=row["last_call_id"],
            agent=agent,
            outcome=outcome.value,
            note=note or None,
            at=now,
        )
    )
    values: dict[str, Any] = {"attempts": attempts, "outcome": outcome.value, "updated_at": now}
    if closes(outcome, attempts):
        values.update(
            status=CallbackStatus.DONE.value, open_number=None, done_at=now, done_by=agent
        )
    else:
        values.update(status=CallbackStatus.OPEN.value, claimed_by=None, claimed_at=None)
    conn.execute(live_callbacks.update().where(live_callbacks.c.id == cb_id).values(**values))
    out = get_callback(conn, cb_id)
    assert out is not None
    return out


def attempts_of(conn: Connection, cb_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(live_callback_attempts)
        .where(live_callback_attempts.c.callback_id == cb_id)
        .order_by(live_callback_attempts.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def list_callbacks(
    conn: Connection, *, state: str, since: datetime, limit: int
) -> list[dict[str, Any]]:
    """``open`` (open and claimed, oldest miss first), ``done`` (closed since ``since``,
    latest first) or ``all`` (both)."""
    c = live_callbacks.c
    if state == "open":
        q = sa.select(live_callbacks).where(c.status != CallbackStatus.DONE.value)
        q = q.order_by(c.first_missed_at, c.id)
    elif state == "done":
        q = sa.select(live_callbacks).where(
            c.status == CallbackStatus.DONE.value, c.done_at >= since
        )
        q = q.order_by(c.done_at.desc(), c.id)
    else:
        q = sa.select(live_callbacks).where(
            sa.or_(c.status != CallbackStatus.DONE.value, c.done_at >= since)
        )
        q = q.order_by(c.first_missed_at, c.id)
    return [dict(r) for r in conn.execute(q.limit(limit)).mappings()]


def count_open(conn: Connection) -> int:
    c = live_callbacks.c
    q = sa.select(sa.func.count()).where(c.status != CallbackStatus.DONE.value)
    return int(conn.execute(q).scalar() or 0)


def load_callback_records(conn: Connection, start: datetime, end: datetime) -> list[CallbackRecord]:
    """Entries open at some moment of [start, end): what ``callback_measures`` counts."""
    c = live_callbacks.c
    rows = conn.execute(
        sa.select(c.id, c.first_missed_at, c.done_at, c.outcome).where(
            c.first_missed_at < end, sa.or_(c.done_at.is_(None), c.done_at >= start)
        )
    ).all()
    return [
        CallbackRecord(
            id=str(i),
            first_missed_at=as_utc(first),
            done_at=None if done is None else as_utc(done),
            outcome=outcome,
        )
        for i, first, done, outcome in rows
    ]
