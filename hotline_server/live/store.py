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
from hotline_server.live import callbacks
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


def _seat_move_values(
    seat: dict[str, Any],
    state: str,
    *,
    at: datetime,
    now: datetime,
    source: str,
    reason: str | None,
    call_id: str | None,
) -> dict[str, Any]:
    """The seat columns a move to ``state`` at ``at`` sets (the seat's row before it)."""
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
    return values


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
    Returns True if the seat's current state changed. A sign-out ends the calls the seat
    held or was offered before it (``callbacks.end_seat_calls``)."""
    at = as_utc(at)
    # calls first, as the telephony path locks them (calls, then seats)
    ended = state == "signed_out" and callbacks.end_seat_calls(conn, agent, at=at, now=now)
    if ended and effects is not None:
        effects.calls_changed = True
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
    values = _seat_move_values(
        seat, state, at=at, now=now, source=source, reason=reason, call_id=call_id
    )
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


# Statements of the telephony path, built once: a batch runs each of them a few times (one
# executemany each) instead of building ~8 statements per event.
_SEAT_COLUMNS = (
    "state",
    "reason",
    "since",
    "last_seen",
    "offline_since",
    "state_before_link_down",
    "call_id",
    "call_started_at",
)
_CALL_COLUMNS = tuple(c.name for c in live_calls.columns if c.name != "call_id")
_UPDATE_CALL = (
    live_calls.update()
    .where(live_calls.c.call_id == sa.bindparam("b_call_id"))
    .values({c: sa.bindparam(f"b_{c}") for c in _CALL_COLUMNS})
)
_UPDATE_SEAT = (
    live_seats.update()
    .where(live_seats.c.agent == sa.bindparam("b_agent"))
    .values({c: sa.bindparam(f"b_{c}") for c in _SEAT_COLUMNS})
)
_INSERT_SEAT_CHANGE = live_seat_changes.insert()
_LOCK_CALLS = (
    sa.select(live_calls)
    .where(live_calls.c.call_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(live_calls.c.call_id)
    .with_for_update()
)
_LOCK_SEATS = (
    sa.select(live_seats)
    .where(live_seats.c.agent.in_(sa.bindparam("agents", expanding=True)))
    .order_by(live_seats.c.agent)
    .with_for_update()
)
_NEWEST_SEAT_CHANGE = (
    sa.select(live_seat_changes.c.agent, sa.func.max(live_seat_changes.c.at))
    .where(live_seat_changes.c.agent.in_(sa.bindparam("agents", expanding=True)))
    .group_by(live_seat_changes.c.agent)
)


def _insert_ignore_many(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> set[Any]:
    """``insert_ignore`` for many rows in one statement; the keys of the rows inserted."""
    if not rows:
        return set()
    stmt = _insert_ignore_stmt(table, conn.dialect.name)
    return set(conn.execute(stmt, rows).scalars())


def record_call_event(
    conn: Connection, ev: CallEvent, *, now: datetime, source: str, effects: Effects
) -> CallEventResult:
    """Apply one telephony event exactly once (by ``event_id``), whatever its order."""
    return record_call_events(conn, [ev], now=now, source=source, effects=effects)[0]


def record_call_events(
    conn: Connection,
    events: list[CallEvent],
    *,
    now: datetime,
    source: str,
    effects: Effects,
) -> list[CallEventResult]:
    """Apply a batch of telephony events, each exactly once (by ``event_id``), in the
    caller's transaction: the same outcome as applying them one by one in order, in a
    handful of statements for the whole batch. An event id seen before (in the database or
    earlier in the batch) is a duplicate and changes nothing.

    The calls and seats the batch touches are locked (``FOR UPDATE``, in key order) and read
    once, the events are merged in memory in their order, and each changed row is written
    once; the seat changes go in as history rows in event order."""
    outcomes: list[EventOutcome] = [EventOutcome.DUPLICATE] * len(events)
    first: dict[str, int] = {}
    for i, ev in enumerate(events):
        first.setdefault(ev.event_id, i)
    ats = [as_utc(ev.at) for ev in events]
    inserted = _insert_ignore_many(
        conn,
        live_call_events,
        [
            {
                "event_id": events[i].event_id,
                "call_id": events[i].call_id,
                "type": events[i].type.value,
                "at": ats[i],
                "received_at": now,
                "source": source,
            }
            for i in first.values()
        ],
    )
    fresh = [i for i in first.values() if events[i].event_id in inserted]
    if not fresh:
        return [
            CallEventResult(event_id=ev.event_id, outcome=o)
            for ev, o in zip(events, outcomes, strict=True)
        ]
    fresh.sort()

    # the calls: one placeholder row for a call not seen before, then all of them locked
    new_calls: dict[str, dict[str, Any]] = {}
    for i in fresh:
        call_id = events[i].call_id
        if call_id not in new_calls:
            new_calls[call_id] = {
                "call_id": call_id,
                "first_at": ats[i],
                "source": source,
                "updated_at": now,
            }
    # in key order, like the locks below: two instances inserting the same new calls wait
    # for each other in one order (PostgreSQL), never in a cycle
    _insert_ignore_many(conn, live_calls, [new_calls[k] for k in sorted(new_calls)])
    calls = {
        r["call_id"]: dict(r)
        for r in conn.execute(_LOCK_CALLS, {"ids": sorted(new_calls)}).mappings()
    }
    # the rows as they were, for the callback list (漏接回拨)
    before: dict[str, dict[str, Any] | None] = {k: dict(v) for k, v in calls.items()}
    seat_work: list[tuple[str, str, datetime, str]] = []  # (agent, state, at, call_id)
    for i in fresh:
        ev, at = events[i], ats[i]
        merged = merge_event(calls[ev.call_id], ev.model_copy(update={"at": at}))
        merged["first_at"] = first_known_time(merged) or at
        merged["updated_at"] = now
        calls[ev.call_id] = merged
        outcomes[i] = EventOutcome.APPLIED
        agent = ev.agent or merged.get("agent")
        if ev.type == CallEventType.OFFERED_TO_SEAT and agent:
            effects.offers.append((agent, ev.call_id))
        state = SEAT_EFFECT.get(ev.type)
        if state and agent:
            seat_work.append((agent, state, at, ev.call_id))
    conn.execute(
        _UPDATE_CALL,
        [{"b_call_id": k, **{f"b_{c}": row[c] for c in _CALL_COLUMNS}} for k, row in calls.items()],
    )
    effects.calls_changed = True
    callbacks.calls_changed(conn, before, calls, now=now)
    if seat_work:
        _move_seats(conn, seat_work, now=now, source=source, effects=effects)
    return [
        CallEventResult(event_id=ev.event_id, outcome=o)
        for ev, o in zip(events, outcomes, strict=True)
    ]


def _move_seats(
    conn: Connection,
    work: list[tuple[str, str, datetime, str]],
    *,
    now: datetime,
    source: str,
    effects: Effects,
) -> None:
    """``set_seat_state`` for each (agent, state, at, call_id) in order, for many seats at
    once: each seat read and locked once, its history rows and its final row written once."""
    new_seats: dict[str, dict[str, Any]] = {}
    for agent, _, at, _ in work:
        if agent not in new_seats:
            new_seats[agent] = {"agent": agent, "state": "signed_out", "since": at}
    agents = sorted(new_seats)
    _insert_ignore_many(conn, live_seats, [new_seats[a] for a in agents])
    seats = {r["agent"]: dict(r) for r in conn.execute(_LOCK_SEATS, {"agents": agents}).mappings()}
    newest: dict[str, datetime] = {
        a: as_utc(t) for a, t in conn.execute(_NEWEST_SEAT_CHANGE, {"agents": agents}) if t
    }
    history: list[dict[str, Any]] = []
    moved: set[str] = set()
    for agent, state, at, call_id in work:
        history.append(
            {
                "agent": agent,
                "state": state,
                "reason": None,
                "at": at,
                "recorded_at": now,
                "source": source,
            }
        )
        latest = newest.get(agent)
        newest[agent] = at if latest is None or at > latest else latest
        if latest is not None and at < latest:
            continue  # out of order: history only
        seat = seats[agent]
        seat.update(
            _seat_move_values(
                seat, state, at=at, now=now, source=source, reason=None, call_id=call_id
            )
        )
        moved.add(agent)
        effects.seat_moves.append(SeatMove(agent, state, at, None, call_id))
    conn.execute(_INSERT_SEAT_CHANGE, history)
    if moved:
        conn.execute(
            _UPDATE_SEAT,
            [
                {"b_agent": a, **{f"b_{c}": seats[a][c] for c in _SEAT_COLUMNS}}
                for a in sorted(moved)
            ],
        )


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
                    live_calls.c.expired_at.is_(None),
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
