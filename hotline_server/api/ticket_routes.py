"""REST view of tickets: create one (Idempotency-Key), list with filters, one, its history."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel

from hotline import privacy
from hotline.model import CALLER_FIELDS, Status, Ticket, Urgency
from hotline.protocol import CreateTicketArgs
from hotline_server import auth, changelog, tickets
from hotline_server.db.engine import write_transaction
from hotline_server.db.schema import idempotency_keys, ticket_history
from hotline_server.db.schema import tickets as tickets_table
from hotline_server.errors import ERROR_RESPONSES, problem
from hotline_server.policy import policy_of
from hotline_server.sync.pull import teams_configured
from hotline_server.sync.registry import Rejected

KEEP_KEYS = timedelta(days=7)
router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=ERROR_RESPONSES)


class NextDeadline(BaseModel):
    what: str  # hotline.clocks: first_response, resolution, supervision_report, ...
    when: datetime


class TicketOut(Ticket):
    """A ticket as the REST view and the pull feed show it (server-kept times included).

    ``next_deadline`` and ``deadline_at`` come from the clocks under the site's policy in
    force (docs/policy.md), at the time of the answer (REST answers only)."""

    dispatched_at: datetime | None = None
    callback_at: datetime | None = None
    received_at: datetime | None = None
    caller_hidden: bool = False  # 保密/匿名: the caller fields are not this user's to see
    next_deadline: NextDeadline | None = None
    deadline_at: datetime | None = None


class TicketList(BaseModel):
    tickets: list[TicketOut]
    total: int
    limit: int
    offset: int


class HistoryEntry(BaseModel):
    revision: int
    at: datetime
    actor: str
    action: str
    changes: dict[str, Any]
    reason: str | None = None
    conflict: dict[str, Any] | None = None


class TicketHistory(BaseModel):
    ticket_id: str
    number: str | None
    entries: list[HistoryEntry]


def _district_id(name: str | None) -> str | None:
    """Tickets store the district's id (``pudong``); a filter may give its name (浦东新区)."""
    if not name:
        return name
    from hotline.validators import FieldError, validate_district

    try:
        return validate_district(name)
    except FieldError:
        return name


def _visible_clause(user: auth.User, teams: bool) -> sa.ColumnElement[bool]:
    t = tickets_table
    if user.role.value in ("lead", "admin") or not teams:
        return sa.true()
    mine = t.c.created_by == user.username
    if user.team is None:
        return mine
    return sa.or_(mine, t.c.team == user.team)


def _shown(data: dict[str, Any], user: auth.User) -> dict[str, Any]:
    """The ticket as this user may see it (hotline.privacy: a confidential caller)."""
    return privacy.for_viewer(data, user.username, user.role.value)


def _caller_search_allowed(user: auth.User) -> sa.ColumnElement[bool]:
    """Text found in a hidden caller's fields finds the ticket only for who may see them."""
    t = tickets_table
    if user.role.value in ("lead", "admin"):
        return sa.true()
    return sa.or_(
        t.c.privacy.not_in(sorted(privacy.HIDDEN_PRIVACY)),
        t.c.created_by == user.username,
        t.c.assignee == user.username,
    )


def _request_hash(body: CreateTicketArgs) -> str:
    canon = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def _lock_key(conn: sa.Connection, username: str, key: str) -> None:
    """Two requests with one key wait for each other (SQLite: BEGIN IMMEDIATE already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.select(
                sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"{username}\n{key}", 0))
            )
        )


@router.post(
    "",
    status_code=201,
    response_model=TicketOut,
    summary="Create one ticket (Idempotency-Key: the same key replays the first answer)",
)
def create_ticket(
    body: CreateTicketArgs,
    request: Request,
    response: Response,
    user: auth.CurrentUser,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
) -> dict[str, Any]:
    engine = auth.engine_of(request)
    now = auth.now_of(request)
    digest = _request_hash(body)
    k = idempotency_keys
    with engine.connect() as conn:
        teams = teams_configured(conn)
    seq: int | None = None
    with write_transaction(engine) as conn:
        changelog.lock_counter(conn)
        if idempotency_key is not None:
            _lock_key(conn, user.username, idempotency_key)
            first = conn.execute(
                sa.select(k.c.request_hash, k.c.status_code, k.c.response).where(
                    k.c.username == user.username, k.c.key == idempotency_key
                )
            ).first()
            if first is not None:
                if first.request_hash != digest:
                    raise problem(
                        422,
                        "this Idempotency-Key was used with another request body; "
                        "use a new key for a new ticket",
                        "Idempotency-Key",
                    )
                response.status_code = int(first.status_code)
                response.headers["Idempotent-Replayed"] = "true"
                return dict(first.response)
        try:
            with conn.begin_nested():
                row, seq = tickets.create(conn, body, user, now, auth.settings_of(request).timezone)
        except Rejected as exc:
            raise problem(422, exc.reason, exc.field) from None
        if not tickets.can_see(user, row, teams):
            raise problem(422, f"ticket id {body.id} is already taken", "id")
        if seq is None and not tickets.same_create(conn, row, body):
            raise problem(409, f"ticket {body.id} already exists with other content: a "
                          "repeat must send the same body, a new ticket needs a new id",
                          "id")  # fmt: skip
        status = 201 if seq is not None else 200
        data = tickets.ticket_data(row)
        if idempotency_key is not None:
            conn.execute(  # keys are kept a week: long enough for any desk's retries
                sa.delete(k).where(k.c.username == user.username, k.c.created_at < now - KEEP_KEYS)
            )
            conn.execute(
                sa.insert(k).values(
                    username=user.username,
                    key=idempotency_key,
                    request_hash=digest,
                    status_code=status,
                    response=data,
                    created_at=now,
                )
            )
    response.status_code = status
    if seq is not None:
        from hotline_server import live

        live.changes_committed(request.app, seq)
    return data


@router.get("", response_model=TicketList, summary="Tickets I may see, filtered and paged")
def list_tickets(
    request: Request,
    user: auth.CurrentUser,
    status: Annotated[list[Status] | None, Query()] = None,
    urgency: Urgency | None = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    district: Annotated[str | None, Query(max_length=20)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    text: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> TicketList:
    t = tickets_table
    with auth.engine_of(request).connect() as conn:
        conds: list[sa.ColumnElement[bool]] = [_visible_clause(user, teams_configured(conn))]
        if status:
            conds.append(t.c.status.in_([s.value for s in status]))
        if urgency is not None:
            conds.append(t.c.urgency == urgency.value)
        for col, value in (("category", category), ("district", _district_id(district)),
                           ("assignee", assignee)):  # fmt: skip
            if value:
                conds.append(t.c[col] == value)
        if overdue is not None:
            # from the deadlines (hotline.clocks) at this moment, for every urgency: the
            # stored flag is the escalation job's, set for red tickets only
            rules = policy_of(request.app)
            late = tickets.overdue_clause(
                auth.now_of(request),
                auth.settings_of(request).timezone,
                rules.escalation,
                rules.calendar,
            )
            conds.append(late if overdue else sa.not_(late))
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            caller = sa.or_(
                *(
                    t.c[c].like(like, escape="\\")
                    for c in ("caller_name", "phone", "caller_number", "address")
                )
            )
            conds.append(
                sa.or_(*(t.c[c].like(like, escape="\\") for c in
                         ("number", "account", "community")),
                       sa.and_(caller, _caller_search_allowed(user)))
            )  # fmt: skip
        where = sa.and_(*conds)
        total = int(
            conn.execute(sa.select(sa.func.count()).select_from(t).where(where)).scalar_one()
        )
        rows = conn.execute(
            sa.select(t).where(where).order_by(t.c.call_started_at.desc(), t.c.id)
            .limit(limit).offset(offset)
        ).mappings().all()  # fmt: skip
    now, zone = auth.now_of(request), auth.settings_of(request).timezone
    rules = policy_of(request.app)
    found = [
        TicketOut.model_validate(_shown(tickets.answer_data(r, now, zone, rules), user))
        for r in rows
    ]
    return TicketList(tickets=found, total=total, limit=limit, offset=offset)


def _visible(request: Request, user: auth.User, ticket_id: str) -> dict[str, Any]:
    with auth.engine_of(request).connect() as conn:
        row = tickets.get_row(conn, ticket_id)
        teams = teams_configured(conn)
    if row is None or not tickets.can_see(user, row, teams):
        raise problem(404, f"no ticket {ticket_id}", "ticket_id")
    return row


@router.get("/{ticket_id}", response_model=TicketOut, summary="One ticket")
def get_ticket(ticket_id: str, request: Request, user: auth.CurrentUser) -> dict[str, Any]:
    row = _visible(request, user, ticket_id)
    data = tickets.answer_data(
        row, auth.now_of(request), auth.settings_of(request).timezone, policy_of(request.app)
    )
    return _shown(data, user)


@router.get("/{ticket_id}/history", response_model=TicketHistory, summary="Audit trail")
def get_history(ticket_id: str, request: Request, user: auth.CurrentUser) -> TicketHistory:
    row = _visible(request, user, ticket_id)
    h = ticket_history
    with auth.engine_of(request).connect() as conn:
        rows = (
            conn.execute(sa.select(h).where(h.c.ticket_id == ticket_id).order_by(h.c.id))
            .mappings()
            .all()
        )
    hidden = not privacy.may_see_caller(row, user.username, user.role.value)
    entries = [HistoryEntry.model_validate(_history_shown(dict(r), hidden)) for r in rows]
    return TicketHistory(ticket_id=ticket_id, number=row["number"], entries=entries)


def _history_shown(entry: dict[str, Any], hidden: bool) -> dict[str, Any]:
    """An audit entry without the caller's values when the caller is hidden from this user."""
    if not hidden:
        return entry
    for key in ("changes", "conflict"):
        value = entry.get(key)
        if isinstance(value, dict):
            entry[key] = {
                k: ({"hidden": True} if k in CALLER_FIELDS else v) for k, v in value.items()
            }
    return entry
