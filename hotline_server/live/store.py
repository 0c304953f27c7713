"""Database work of the live side (SQLAlchemy Core, synchronous, one code path for both DBs).

Every function takes an open ``Connection`` inside the caller's transaction, so a route, a
sync applier and a test can compose them in one commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline.metrics import CallRecord, SeatChange, as_utc
from hotline_server.live.calls import SEAT_EFFECT, first_known_time, merge_event, to_record
from hotline_server.live.schema import live_call_events, live_calls, live_seat_changes, live_seats
from hotline_server.live.wire import (
    CallEvent,
    CallEventResult,
    CallEventType,
    EventOutcome,
)

_INSERT_IGNORE: dict[tuple[str, str], Any] = {}


def _insert_ignore_stmt(table: sa.Table, dialect: str) -> Any:
    """``INSERT .. ON CONFLICT DO NOTHING RETURNING pk`` for ``table``, built once per table
    and dialect (the telephony path runs it for every event); values come as parameters."""
    key = (table.name, dialect)
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        pk = next(iter(table.primary_key.columns))
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(table).on_conflict_do_nothing().returning(pk)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing().returning(pk)
        _INSERT_IGNORE[key] = stmt
    return stmt


def insert_ignore(conn: Connection, table: sa.Table, values: dict[str, Any]) -> bool:
    """INSERT that does nothing on a key conflict; True if the row was inserted.

    RETURNING tells the two cases apart on both databases (rowcount is not reliable for
    ON CONFLICT DO NOTHING across drivers)."""
    stmt = _insert_ignore_stmt(table, conn.dialect.name)
    return conn.execute(stmt, values).first() is not None


# ---------------------------------------------------------------- seats


@dataclass
class SeatMove:
    agent: str
    state: str
    at: datetime
    reason: str | None = None
    call_id: str | None = None


@dataclass
class Effects:
    """What a write changed that live subscribers should hear about."""

    seat_moves: list[SeatMove] = field(default_factory=list)
    offers: list[tuple[str, str]] = field(default_factory=list)  # (agent, call_id)
    calls_changed: bool = False


def get_seat(conn: Connection, agent: str, *, lock: bool = False) -> dict[str, Any] | None:
    q = sa.select(live_seats).where(live_seats.c.agent == agent)
    if lock:
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def set_seat_state(
    conn: Connection,
    agent: str,
    state: str,
    *,
    at: datetime,
    now: datetime,
    source: str,
    reason: str | None = None,
    call_id: str | None = None,
    effects: Effects | None = None,
) -> bool:
    """Move ``agent``'s seat to ``state`` as of ``at``; record the change. A report older
    than the newest one recorded (out of order) is kept in history but does not move the
    seat backwards. A seat the server made on hearing from the desk (a heartbeat before any
    report) holds no report, so the desk's first report moves it whatever its time stamp.
    Returns True if the seat's current state changed."""
    at = as_utc(at)
    insert_ignore(conn, live_seats, {"agent": agent, "state": "signed_out", "since": at})
    seat = get_seat(conn, agent, lock=True)
    assert seat is not None
    newest = conn.execute(
        sa.select(sa.func.max(live_seat_changes.c.at)).where(live_seat_changes.c.agent == agent)
    ).scalar()
    conn.execute(
        live_seat_changes.insert().values(
            agent=agent, state=state, reason=reason, at=at, recorded_at=now, source=source
        )
    )
    if newest is not None and at < as_utc(newest):
        return False
    values: dict[str, Any] = {"state": state, "reason": reason, "since": at}
    if state == "on_call":
        values["call_id"] = call_id
        values["call_started_at"] = at
    elif state != "after_call":
        values["call_id"] = None
        values["call_started_at"] = None
    if state == "link_down":
        values["state_before_link_down"] = seat["state"]
        values["offline_since"] = seat["last_seen"] or at
    elif source == "agent":
        values["offline_since"] = None
        values["last_seen"] = now
    conn.execute(live_seats.update().where(live_seats.c.agent == agent).values(**values))
    if effects is not None:
        effects.seat_moves.append(SeatMove(agent, state, at, reason, call_id))
    return True


def touch_seat(
    conn: Connection,
    agent: str,
    *,
    now: datetime,
    unsynced: int | None = None,
    client_id: str | None = None,
    effects: Effects | None = None,
) -> None:
    """The server heard from ``agent``'s desk: refresh ``last_seen``; a link-down seat comes
    back to the state it was in before the link went down."""
    insert_ignore(conn, live_seats, {"agent": agent, "state": "signed_out", "since": now})
    seat = get_seat(conn, agent, lock=True)
    assert seat is not None
    values: dict[str, Any] = {"last_seen": now}
    if unsynced is not None:
        values["unsynced"] = unsynced
    if client_id is not None:
        values["client_id"] = client_id
    conn.execute(live_seats.update().where(live_seats.c.agent == agent).values(**values))
    if seat["state"] == "link_down":
        back = seat["state_before_link_down"] or "ready"
        set_seat_state(
            conn,
            agent,
            back,
            at=now,
            now=now,
            source="server",
            reason="link restored",
            effects=effects,
        )
        conn.execute(
            live_seats.update().where(live_seats.c.agent == agent).values(offline_since=None)
        )


def mark_links_down(
    conn: Connection, *, now: datetime, timeout: timedelta, effects: Effects | None = None
) -> list[str]:
    """Seats signed in whose desk has been silent for ``timeout``: link down."""
    cutoff = now - timeout
    rows = conn.execute(
        sa.select(live_seats.c.agent, live_seats.c.last_seen).where(
            live_seats.c.state.not_in(("signed_out", "link_down")),
            live_seats.c.last_seen.is_not(None),
            live_seats.c.last_seen < cutoff,
        )
    ).all()
    down: list[str] = []
    for agent, last_seen in rows:
        set_seat_state(
            conn,
            agent,
            "link_down",
            at=now,
            now=now,
            source="server",
            reason=f"no contact since {last_seen.isoformat()}",
            effects=effects,
        )
        down.append(agent)
    return down


# ---------------------------------------------------------------- calls


def record_call_event(
    conn: Connection, ev: CallEvent, *, now: datetime, source: str, effects: Effects
) -> CallEventResult:
    """Apply one telephony event exactly once (by ``event_id``), whatever its order."""
    at = as_utc(ev.at)
    fresh = insert_ignore(
        conn,
        live_call_events,
        {
            "event_id": ev.event_id,
            "call_id": ev.call_id,
            "type": ev.type.value,
            "at": at,
            "received_at": now,
            "source": source,
        },
    )
    if not fresh:
        return CallEventResult(event_id=ev.event_id, outcome=EventOutcome.DUPLICATE)
    insert_ignore(
        conn,
        live_calls,
        {"call_id": ev.call_id, "first_at": at, "source": source, "updated_at": now},
    )
    row = (
        conn.execute(
            sa.select(live_calls).where(live_calls.c.call_id == ev.call_id).with_for_update()
        )
        .mappings()
        .first()
    )
    assert row is not None
    merged = merge_event(dict(row), ev.model_copy(update={"at": at}))
    merged["first_at"] = first_known_time(merged) or at
    merged["updated_at"] = now
    conn.execute(
        live_calls.update()
        .where(live_calls.c.call_id == ev.call_id)
        .values({k: v for k, v in merged.items() if k != "call_id"})
    )
    effects.calls_changed = True
    agent = ev.agent or merged.get("agent")
    if ev.type == CallEventType.OFFERED_TO_SEAT and agent:
        effects.offers.append((agent, ev.call_id))
    state = SEAT_EFFECT.get(ev.type)
    if state and agent:
        set_seat_state(
            conn, agent, state, at=at, now=now, source=source, call_id=ev.call_id, effects=effects
        )
    return CallEventResult(event_id=ev.event_id, outcome=EventOutcome.APPLIED)


def get_call(conn: Connection, call_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(live_calls).where(live_calls.c.call_id == call_id)).mappings()
    first = row.first()
    return dict(first) if first else None


def load_call_records(conn: Connection, start: datetime, end: datetime) -> list[CallRecord]:
    """Calls whose first known time is in [start, end), plus calls still waiting."""
    rows = conn.execute(
        sa.select(live_calls).where(
            sa.or_(
                sa.and_(live_calls.c.first_at >= start, live_calls.c.first_at < end),
                sa.and_(
                    live_calls.c.first_at < start,
                    live_calls.c.answered_at.is_(None),
                    live_calls.c.abandoned_at.is_(None),
                    live_calls.c.ended_at.is_(None),
                    live_calls.c.first_at >= start - timedelta(hours=6),
                ),
            )
        )
    ).mappings()
    out = []
    for r in rows:
        rec = to_record(dict(r))
        if rec is not None:
            out.append(rec)
    return out


def load_seat_changes(conn: Connection, start: datetime, end: datetime) -> list[SeatChange]:
    """Seat changes in [start, end) and, per agent, the last change before ``start``."""
    in_window = conn.execute(
        sa.select(
            live_seat_changes.c.agent,
            live_seat_changes.c.state,
            live_seat_changes.c.at,
            live_seat_changes.c.reason,
        )
        .where(live_seat_changes.c.at >= start, live_seat_changes.c.at < end)
        .order_by(live_seat_changes.c.at, live_seat_changes.c.id)
    ).all()
    latest_before = (
        sa.select(live_seat_changes.c.agent, sa.func.max(live_seat_changes.c.at).label("at"))
        .where(live_seat_changes.c.at < start)
        .group_by(live_seat_changes.c.agent)
        .subquery()
    )
    before = conn.execute(
        sa.select(
            live_seat_changes.c.agent,
            live_seat_changes.c.state,
            live_seat_changes.c.at,
            live_seat_changes.c.reason,
        ).join(
            latest_before,
            sa.and_(
                live_seat_changes.c.agent == latest_before.c.agent,
                live_seat_changes.c.at == latest_before.c.at,
            ),
        )
    ).all()
    return [SeatChange(a, s, as_utc(t), r) for a, s, t, r in [*before, *in_window]]


def list_seats(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(live_seats).order_by(live_seats.c.agent)).mappings()
    return [dict(r) for r in rows]
