"""REST view of tickets: create one (Idempotency-Key), list with filters, one, its history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from hotline.model import Status, Urgency
from hotline_server import auth, tickets
from hotline_server.db.schema import ticket_history
from hotline_server.db.schema import tickets as tickets_table
from hotline_server.errors import ERROR_RESPONSES, problem
from hotline_server.sync.pull import teams_configured

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=ERROR_RESPONSES)


class TicketList(BaseModel):
    tickets: list[dict[str, Any]]
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


def _visible_clause(user: auth.User, teams: bool) -> sa.ColumnElement[bool]:
    t = tickets_table
    if user.role.value in ("lead", "admin") or not teams:
        return sa.true()
    mine = t.c.created_by == user.username
    if user.team is None:
        return mine
    return sa.or_(mine, t.c.team == user.team)


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
        for col, value in (("category", category), ("district", district),
                           ("assignee", assignee)):  # fmt: skip
            if value:
                conds.append(t.c[col] == value)
        if overdue is not None:
            conds.append(t.c.overdue.is_(overdue))
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(
                sa.or_(*(t.c[c].like(like, escape="\\") for c in
                         ("number", "caller_name", "phone", "address", "account", "community")))
            )  # fmt: skip
        where = sa.and_(*conds)
        total = int(
            conn.execute(sa.select(sa.func.count()).select_from(t).where(where)).scalar_one()
        )
        rows = conn.execute(
            sa.select(t).where(where).order_by(t.c.call_started_at.desc(), t.c.id)
            .limit(limit).offset(offset)
        ).mappings().all()  # fmt: skip
    return TicketList(tickets=[tickets.ticket_data(r) for r in rows], total=total,
                      limit=limit, offset=offset)  # fmt: skip


def _visible(request: Request, user: auth.User, ticket_id: str) -> dict[str, Any]:
    with auth.engine_of(request).connect() as conn:
        row = tickets.get_row(conn, ticket_id)
        teams = teams_configured(conn)
    if row is None or not tickets.can_see(user, row, teams):
        raise problem(404, f"no ticket {ticket_id}", "ticket_id")
    return row


@router.get("/{ticket_id}", summary="One ticket")
def get_ticket(ticket_id: str, request: Request, user: auth.CurrentUser) -> dict[str, Any]:
    return tickets.ticket_data(_visible(request, user, ticket_id))


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
    entries = [HistoryEntry.model_validate(dict(r)) for r in rows]
    return TicketHistory(ticket_id=ticket_id, number=row["number"], entries=entries)
