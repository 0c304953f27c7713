"""The one place where the live side touches the core server.

Everything the live side needs from the core (who is signed in, the change log, the tickets
table, the write transaction) goes through here, so a change of the core's API is mended
in this file alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, HTTPException
from sqlalchemy.engine import Connection, Engine

from hotline.metrics import TicketRecord, as_utc
from hotline.protocol import Entity, ErrorBody, FieldProblem
from hotline_server import auth

if TYPE_CHECKING:
    from hotline_server.live.hub import LiveHub


@dataclass(frozen=True)
class UserInfo:
    username: str
    role: str
    team: str | None = None


def problem(status: int, message: str, field: str | None) -> HTTPException:
    """A 4xx with the project's error body: a message a person can read, the field at fault."""
    errors = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}
    body = ErrorBody(
        error=errors.get(status, "invalid"),
        message=message,
        fields=[FieldProblem(field=field, message=message)] if field else [],
    )
    return HTTPException(status_code=status, detail=body.model_dump())


# ---------------------------------------------------------------- auth (core dependencies)


def _info(user: auth.User) -> UserInfo:
    return UserInfo(username=user.username, role=user.role.value, team=user.team)


# The live routes' dependencies are the core's authentication, declared directly (not bound
# through ``app.dependency_overrides``: with any override set FastAPI re-solves every
# dependency of every request, ~7% of the server's time in the peak-day replay).
_lead = auth.require_role("lead", "admin")
_admin = auth.require_role("admin")


def current_user(user: auth.CurrentUser) -> UserInfo:
    return _info(user)


def lead_user(user: Annotated[auth.User, Depends(_lead)]) -> UserInfo:
    return _info(user)


def admin_user(user: Annotated[auth.User, Depends(_admin)]) -> UserInfo:
    return _info(user)


require_telephony = auth.require_telephony


# ---------------------------------------------------------------- writes


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction through the core (``BEGIN IMMEDIATE`` on SQLite, where this
    process's writers queue on the core's in-process lock, not in busy_timeout)."""
    from hotline_server.changelog import lock_counter
    from hotline_server.db.engine import write_transaction

    with write_transaction(engine) as conn:
        if engine.dialect.name != "sqlite":
            lock_counter(conn)  # the core's lock order: counter before ticket rows
        yield conn


def append_change(
    conn: Connection,
    *,
    entity: Entity,
    entity_id: str,
    data: dict[str, Any],
    now: datetime,
    team: str | None = None,
    owner: str | None = None,
) -> int:
    from hotline_server.changelog import append_change as core_append

    return int(
        core_append(
            conn, entity=entity, entity_id=entity_id, data=data, team=team, owner=owner, now=now
        )
    )


def committed(hub: LiveHub, seq: int, visible: tuple[str | None, str | None] | None = None) -> None:
    """Poke the streams for change ``seq``. ``visible``: the (team, owner) of that change
    when the transaction appended only it, so the poker knows who may see it without
    reading it back from the database."""
    if visible is None:
        hub.committed(seq)
    else:
        hub.committed(seq, seq - 1, {visible})


def record_seat_change(conn: Connection, user: UserInfo, now: datetime) -> int | None:
    """The agent's own seat, in the change log for their other desks (owner only)."""
    from hotline_server.live.store import get_seat

    seat = get_seat(conn, user.username)
    if seat is None:
        return None
    data = {
        "agent": seat["agent"],
        "state": seat["state"],
        "reason": seat["reason"],
        "since": seat["since"].isoformat() if seat["since"] else None,
    }
    return append_change(
        conn,
        entity=Entity.SEAT,
        entity_id=user.username,
        data=data,
        now=now,
        owner=user.username,
    )


def current_seq(engine: Engine) -> int:
    table = _table("change_log", "changes", "changelog")
    if table is None:
        return 0
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(table.c.seq))).scalar() or 0)


def change_visibility(engine: Engine, after: int, upto: int) -> list[tuple[str | None, str | None]]:
    """(team, owner) of the change-log rows in (after, upto]."""
    table = _table("change_log", "changes", "changelog")
    if table is None:
        return [(None, None)]
    team = table.c.get("team")
    owner = table.c.get("owner")
    cols = [c if c is not None else sa.null() for c in (team, owner)]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(*cols).where(table.c.seq > after, table.c.seq <= upto).distinct()
        ).all()
    return [(r[0], r[1]) for r in rows]


# ---------------------------------------------------------------- tickets


def _table(*names: str) -> sa.Table | None:
    from hotline_server.live.schema import metadata

    for name in names:
        if name in metadata.tables:
            return metadata.tables[name]
    return None


def tickets_table() -> sa.Table | None:
    return _table("tickets")


def _col(table: sa.Table, name: str) -> sa.ColumnElement[Any] | None:
    return table.c.get(name)


def _ticket_record(row: Any) -> TicketRecord:
    status = str(row.get("status") or "accepted")
    disposition = str(row.get("disposition") or "pending")
    dispatched = disposition == "dispatch" or status in (
        "dispatched",
        "handling",
        "replied",
        "supervised",
    )
    if row.get("dispatched_at") is not None:
        dispatched = True
    created = row.get("created_at") or row.get("call_started_at")
    started = row.get("call_started_at") or created
    responded = row.get("first_response_at")
    return TicketRecord(
        id=str(row["id"]),
        created_at=as_utc(created),
        call_started_at=as_utc(started),
        phone=str(row.get("phone") or ""),
        category=str(row.get("category") or "other"),
        topic=str(row.get("topic") or ""),
        urgency=str(row.get("urgency") or "normal"),
        status=status,
        disposition=disposition,
        dispatched=dispatched,
        overdue=bool(row.get("overdue") or False),
        created_by=str(row.get("created_by") or ""),
        kind=str(row.get("kind") or "consultation"),
        first_response_at=as_utc(responded) if responded is not None else None,
        satisfaction=_satisfaction(row.get("satisfaction")),
        escalation_level=int(row.get("escalation_level") or 0),
    )


def _satisfaction(value: Any) -> str | None:
    """The stored score as a level (a legacy 1-5 score read as its level)."""
    if value is None:
        return None
    from hotline.model import LEGACY_SATISFACTION

    if str(value).isdigit():
        level = LEGACY_SATISFACTION.get(int(str(value)))
        return level.value if level is not None else None
    return str(value)


def load_ticket_records(conn: Connection, start: datetime, end: datetime) -> list[TicketRecord]:
    t = tickets_table()
    if t is None:
        return []
    started = _col(t, "call_started_at")
    assert started is not None
    rows = conn.execute(sa.select(t).where(started >= start, started < end)).mappings()
    return [_ticket_record(r) for r in rows]


def load_open_red(conn: Connection) -> Sequence[TicketRecord]:
    t = tickets_table()
    if t is None:
        return []
    from hotline.states import OPEN_STATUSES

    urgency, status = _col(t, "urgency"), _col(t, "status")
    assert urgency is not None and status is not None
    rows = conn.execute(
        sa.select(t).where(urgency == "red", status.in_([s.value for s in OPEN_STATUSES]))
    ).mappings()
    return [_ticket_record(r) for r in rows]


def tickets_today(conn: Connection, since: datetime) -> dict[str, int]:
    t = tickets_table()
    if t is None:
        return {}
    by, started = _col(t, "created_by"), _col(t, "call_started_at")
    if by is None or started is None:
        return {}
    rows = conn.execute(sa.select(by, sa.func.count()).where(started >= since).group_by(by))
    return {str(a): int(n) for a, n in rows.all()}


def recent_tickets(conn: Connection, phone: str, limit: int = 5) -> list[dict[str, Any]]:
    """The caller's latest tickets, for the call offer (the agent sees them before answering)."""
    t = tickets_table()
    if t is None or not phone:
        return []
    phone_col, started = _col(t, "phone"), _col(t, "call_started_at")
    if phone_col is None or started is None:
        return []
    from hotline.validators import FieldError, validate_phone

    with contextlib.suppress(FieldError):
        phone = validate_phone(phone)  # tickets keep the normalized number
    rows = conn.execute(
        sa.select(t).where(phone_col == phone).order_by(started.desc()).limit(limit)
    ).mappings()
    keep = (
        "id",
        "number",
        "status",
        "kind",
        "category",
        "urgency",
        "account",
        "call_started_at",
        "handling_unit",
        "caller_name",
        "phone",
    )
    return [{k: _plain(r.get(k)) for k in keep if k in r} for r in rows]


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return as_utc(v).isoformat()
    return v


def pending_offer(hub: LiveHub, agent: str) -> dict[str, Any] | None:
    """A call ringing at ``agent``'s seat right now, if any (re-sent on reconnect)."""
    from hotline_server.live.schema import live_calls

    with hub.engine.connect() as conn:
        call_id = conn.execute(
            sa.select(live_calls.c.call_id)
            .where(
                live_calls.c.agent == agent,
                live_calls.c.seat_offered_at.is_not(None),
                live_calls.c.answered_at.is_(None),
                live_calls.c.abandoned_at.is_(None),
                live_calls.c.ended_at.is_(None),
                live_calls.c.expired_at.is_(None),
            )
            .order_by(live_calls.c.seat_offered_at.desc())
            .limit(1)
        ).scalar()
    return None if call_id is None else build_offer(hub, agent, str(call_id))


# A call is offered to a desk only while its seat is signed in and free: a seat signed out,
# on a call, in after-call work, on a break or with its link down gets no offer (the phone
# system's event is still recorded; the lead panel sees the call ringing there).
OFFERABLE_SEAT_STATES = frozenset({"ready"})


def build_offer(hub: LiveHub, agent: str, call_id: str) -> dict[str, Any] | None:
    """The offer for ``agent``'s desk, or None when there is no such call or the seat is
    not available for one (see ``OFFERABLE_SEAT_STATES``)."""
    from hotline_server.live.store import get_call, get_seat

    with hub.engine.connect() as conn:
        seat = get_seat(conn, agent)
        if seat is None or seat["state"] not in OFFERABLE_SEAT_STATES:
            return None
        call = get_call(conn, call_id)
        if call is None:
            return None
        number = call.get("caller_number") or ""
        return {
            "call_id": call_id,
            "agent": agent,
            "caller_number": number,
            "queue": call.get("queue"),
            "offered_at": _plain(call.get("offered_at") or call.get("first_at")),
            "recent_tickets": recent_tickets(conn, number),
        }


# ---------------------------------------------------------------- wiring into the app


def engine_of(app: Any) -> Engine:
    engine: Engine = app.state.engine
    return engine


def install_core_hooks(app: Any) -> None:
    """Register the live side's sync appliers (its routes use the core's auth directly)."""
    register_appliers()


# ---------------------------------------------------------------- core services for the live side


def system_update_ticket(
    conn: Connection, ticket: Any, changes: dict[str, Any], reason: str, now: datetime
) -> int | None:
    """A change made by the server itself (the escalation clock): new revision, an audit row
    with ``reason`` by actor ``system``, a change-log entry. Returns the seq."""
    from hotline_server import tickets

    row = tickets.get_row(conn, str(ticket.id), lock=True)
    if row is None:
        return None
    _, seq = tickets.write_changes(conn, row, changes, "system", "system", now, reason=reason)
    return seq


def open_red_tickets(conn: Connection, *, surge: bool = False) -> list[Any]:
    """Open red tickets as ``hotline.model.Ticket`` (what hotline.clocks reads); in a surge
    (the policy's ``surge``: every ticket on the red clock) every open ticket."""
    from hotline.states import OPEN_STATUSES
    from hotline_server import tickets
    from hotline_server.db.schema import tickets as t

    where: list[sa.ColumnElement[bool]] = [t.c.status.in_([s.value for s in OPEN_STATUSES])]
    if not surge:
        where.append(t.c.urgency == "red")
    rows = conn.execute(sa.select(t).where(*where)).mappings()
    return [tickets.to_ticket(r) for r in rows]


def escalation_policy() -> Any:
    from hotline import clocks

    return clocks.EscalationPolicy()


def work_calendar() -> Any:
    from hotline import clocks

    return clocks.WorkCalendar()


def ensure_agents(database_url: str, usernames: list[str], password: str) -> int:
    """Create the simulator's agent accounts that do not exist yet; returns how many."""
    from hotline_server.db.engine import make_engine
    from hotline_server.users import ensure_users

    engine = make_engine(database_url)
    try:
        return ensure_users(engine, usernames, password, "agent")
    finally:
        engine.dispose()


def register_appliers() -> None:
    """Put the seat and desk-call appliers into the core's push machinery."""
    from hotline_server.live.appliers import register

    register()
