"""Tickets on the server: create, merge field changes, move status, notes, escalation.

Every write here bumps the ticket's revision, writes an audit row (who, when, what changed,
why, and the losing value of a conflict) and appends the new state to the change log, all in
the caller's transaction. Sync appliers and the REST endpoints both come through here, so a
ticket changes the same way whichever door the change used.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, RowMapping

from hotline import clocks
from hotline.model import (
    EDITABLE_FIELDS,
    Disposition,
    EscalationLevel,
    Kind,
    Note,
    Status,
    Ticket,
    TicketFields,
    Urgency,
)
from hotline.policy import DEFAULT_POLICY, SitePolicy
from hotline.protocol import CreateTicketArgs, Entity
from hotline.states import FINISHED_STATUSES, IllegalTransition, move
from hotline_server import changelog
from hotline_server.auth import User
from hotline_server.db.schema import notes, ticket_history, ticket_numbers, tickets, users
from hotline_server.sync.registry import Rejected

SERVER_FIELDS = (
    "status",
    "disposition",
    "escalation_level",
    "overdue",
    "assignee",
    "merged_into",
    "first_response_at",
    "dispatched_at",
    "closed_at",
    "satisfaction",
    "callback_at",
)


# ---------------------------------------------------------------- reading


def to_ticket(row: RowMapping | dict[str, Any]) -> Ticket:
    return Ticket.model_validate(dict(row))


def ticket_data(row: RowMapping | dict[str, Any], ticket: Ticket | None = None) -> dict[str, Any]:
    """The ticket as it travels on pull and in REST answers (JSON-ready); ``ticket``: the
    row already read as a model, when the caller has it."""
    data = (ticket or to_ticket(row)).model_dump(mode="json")
    for extra in ("dispatched_at", "callback_at", "received_at"):
        value = row.get(extra)
        data[extra] = value.isoformat() if isinstance(value, datetime) else value
    return data


def answer_data(
    row: RowMapping | dict[str, Any],
    now: datetime,
    zone: tzinfo | str | None,
    policy: SitePolicy | None = None,
) -> dict[str, Any]:
    """The ticket as a REST answer: ``overdue`` is what the clocks say at ``now`` (as the
    ``?overdue=`` filter counts), not the stored flag, which the escalation job keeps for red
    tickets only: a late normal ticket found by the filter says so in its answer too.

    ``next_deadline`` (``{"what", "when"}``, ``hotline.clocks.next_deadline``) and
    ``deadline_at`` (when the ticket is or becomes overdue, as the desk's queue counts it)
    are the clocks' under the site's policy in force (holidays, surge, category rules)."""
    policy = policy or DEFAULT_POLICY
    ticket = to_ticket(row)
    data = ticket_data(row, ticket)
    raw = row.get("dispatched_at")
    dispatched = raw if isinstance(raw, datetime) else None
    rules, calendar = policy.escalation, policy.calendar
    data["overdue"] = clocks.is_overdue(
        ticket, now, rules, calendar, zone=zone, dispatched_at=dispatched
    )
    due = clocks.next_deadline(ticket, now, rules, calendar, zone, dispatched_at=dispatched)
    data["next_deadline"] = None if due is None else {"what": due[0], "when": due[1].isoformat()}
    deadline = None if due is None else due[1]
    ladder = clocks.red_ladder(ticket, rules, zone)
    if deadline is not None and ladder is not None and deadline > ladder.supervision_start:
        deadline = ladder.supervision_start  # overdue since the red window closed
    data["deadline_at"] = None if deadline is None else deadline.isoformat()
    return data


# Statements of the push path are built once and run with bound parameters: building one
# per call (``.values(...)``, ``== literal``) cost more CPU than running it (py-spy, drain).
_ROW_BY_ID = sa.select(tickets).where(tickets.c.id == sa.bindparam("ticket_id"))
_ROW_BY_ID_LOCKED = _ROW_BY_ID.with_for_update()
_INSERT_TICKET = tickets.insert()
_INSERT_HISTORY = ticket_history.insert()


def get_row(conn: Connection, ticket_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    q = _ROW_BY_ID_LOCKED if lock and conn.dialect.name == "postgresql" else _ROW_BY_ID
    row = conn.execute(q, {"ticket_id": ticket_id}).mappings().first()
    return dict(row) if row else None


def can_see(user: User, row: dict[str, Any] | RowMapping, teams_configured: bool) -> bool:
    """Leads and admins see every ticket; an agent their own and their team's (every ticket
    when no teams are configured)."""
    if user.role.value in ("lead", "admin") or not teams_configured:
        return True
    return user.username in (row["created_by"], row.get("assignee")) or (
        user.team is not None and row["team"] == user.team
    )


def visible_row(ctx_user: User, conn: Connection, ticket_id: str, teams: bool) -> dict[str, Any]:
    row = get_row(conn, ticket_id, lock=True)
    if row is None or not can_see(ctx_user, row, teams):
        raise Rejected(f"no ticket {ticket_id} (or not yours to change)", "ticket_id")
    return row


def _handling_cutoff(
    now: datetime,
    days: int,
    calendar: clocks.WorkCalendar,
    zone: tzinfo,
) -> datetime:
    """The earliest dispatch time that is still in time at ``now`` for ``days`` working days:
    a ticket dispatched before it is past ``clocks.handling_deadline``. That deadline grows
    with the local day of the dispatch, so the latest overdue day is found scanning back."""
    today = now.astimezone(zone).date()
    day = today
    for _ in range(_MAX_DAYS_BACK):
        last_day = calendar.add_working_days(day, days)
        if now > datetime.combine(last_day + timedelta(days=1), time(0), zone):
            return datetime.combine(day + timedelta(days=1), time(0), zone)
        day -= timedelta(days=1)
    return datetime.combine(day, time(0), zone)  # a calendar no real site has: stop looking


_MAX_DAYS_BACK = 3660


def overdue_clause(
    now: datetime,
    zone: tzinfo | str | None = None,
    policy: clocks.EscalationPolicy | None = None,
    calendar: clocks.WorkCalendar | None = None,
) -> sa.ColumnElement[bool]:
    """``clocks.is_overdue`` at ``now`` as a SQL condition on ``tickets``, for every urgency
    (the stored ``overdue`` flag is kept by the escalation job for red tickets only).

    Red clock (red, or every ticket in a surge): unfinished, and past F without a first
    response, or past S. Normal: in a handling status and past the handling deadline from
    ``dispatched_at`` (else ``created_at``, as the desk counts it). One branch per category
    rule of the policy, so an override per category counts with its own numbers.
    """
    policy = policy or clocks.EscalationPolicy()
    calendar = calendar or clocks.WorkCalendar()
    tz = clocks.resolve_zone(zone)
    t = tickets
    finished = [s.value for s in FINISHED_STATUSES]
    handling = [s.value for s in clocks.HANDLING_STATUSES]
    dispatched = sa.func.coalesce(t.c.dispatched_at, t.c.created_at)
    red = sa.true() if policy.surge else t.c.urgency == Urgency.RED.value

    def late(rule: clocks.CategoryRule) -> sa.ColumnElement[bool]:
        no_response = sa.or_(t.c.first_response_at.is_(None), t.c.first_response_at > now)
        red_late = sa.or_(
            sa.and_(t.c.call_started_at < now - rule.first_response, no_response),
            t.c.call_started_at < now - rule.supervision_after,
        )
        normal_late = sa.or_(*(
            sa.and_(t.c.kind == kind.value,
                    dispatched < _handling_cutoff(now, rule.working_days_for(kind), calendar, tz))
            for kind in Kind
        ))  # fmt: skip
        return sa.or_(
            sa.and_(red, red_late),
            sa.and_(sa.not_(red), t.c.status.in_(handling), normal_late),
        )

    # the rule a ticket counts by (EscalationPolicy.rule_for): urgent sub-category, category
    branches: list[sa.ColumnElement[bool]] = []
    named: list[sa.ColumnElement[bool]] = []
    sub = sa.func.coalesce(t.c.urgent_subcategory, "")  # no NULL in the NOT below
    for name, rule in policy.categories.items():
        by_category = sa.and_(t.c.category == name, sub.not_in(list(policy.categories)))
        scope = sa.or_(sub == name, by_category)
        branches.append(sa.and_(scope, late(rule)))
        named.append(scope)
    rest = sa.not_(sa.or_(*named)) if named else sa.true()
    branches.append(sa.and_(rest, late(policy.default)))
    return sa.and_(t.c.status.not_in(finished), sa.or_(*branches))


# ---------------------------------------------------------------- validation


def domain_clean(fields: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Normalize with the shared validators (hotline.validators: the desk runs the same
    rules); raise Rejected naming the first bad field."""
    try:
        from hotline import validators
    except ImportError:  # pragma: no cover - the domain module ships with the package
        return fields
    cleaned, problems = validators.clean_ticket_fields(fields, partial=partial)
    if problems:
        first = problems[0]
        raise Rejected(first.message("en"), str(first.field))
    return {**fields, **{k: v for k, v in cleaned.items() if k in fields}}


def check_fields(fields: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate ticket fields (types and hard limits, then the domain's rules); returns the
    normalized values. ``partial``: only ``fields`` are checked (an update)."""
    try:
        model = TicketFields.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "fields"
        raise Rejected(f"{name}: {err['msg']}", name) from None
    plain = model.model_dump(mode="json")
    from hotline_server.sync.push import nul_path

    nul = nul_path(plain)
    if nul is not None:
        raise Rejected(f"{nul}: text must not contain NUL characters", nul)
    if partial:
        plain = {k: plain[k] for k in fields}
    return domain_clean(plain, partial=partial)


# ---------------------------------------------------------------- writing


def _next_number_statement(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (day) DO UPDATE value = value + 1 RETURNING value``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        insert: Any = pg_insert(ticket_numbers)
    else:
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        insert = lite_insert(ticket_numbers)
    stmt = insert.values(day=sa.bindparam("day"), value=1).on_conflict_do_update(
        index_elements=[ticket_numbers.c.day], set_={"value": ticket_numbers.c.value + 1}
    )
    return stmt.returning(ticket_numbers.c.value)


_NEXT_NUMBER: dict[str, Any] = {}


def _number(conn: Connection, now: datetime, tz: str) -> str:
    day = now.astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    dialect = conn.dialect.name
    stmt = _NEXT_NUMBER.get(dialect)
    if stmt is None:
        stmt = _NEXT_NUMBER[dialect] = _next_number_statement(dialect)
    value = int(conn.execute(stmt, {"day": day}).scalar_one())
    return f"{day}-{value:06d}"


def _history(
    conn: Connection,
    row: dict[str, Any],
    actor: str,
    action: str,
    changes: dict[str, Any],
    now: datetime,
    *,
    reason: str | None = None,
    conflict: dict[str, Any] | None = None,
    client_id: str | None = None,
    mutation_id: int | None = None,
) -> None:
    conn.execute(
        _INSERT_HISTORY,
        {
            "ticket_id": row["id"],
            "revision": row["revision"],
            "at": now,
            "actor": actor,
            "action": action,
            "changes": _json(changes),
            "reason": reason,
            "conflict": _json(conflict) if conflict else None,
            "client_id": client_id,
            "mutation_id": mutation_id,
        },
    )


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return getattr(value, "value", value)


def publish(
    conn: Connection, row: dict[str, Any], now: datetime, *, lost: dict[str, Any] | None = None
) -> int:
    """Append the ticket to the change log. ``lost`` (same-field conflicts of this change)
    travels with it, so the desk whose value was overwritten learns it on its next pull."""
    data = ticket_data(row)
    if lost:
        data["lost_values"] = lost
    return changelog.append_change(
        conn,
        entity=Entity.TICKET,
        entity_id=row["id"],
        data=data,
        team=row["team"],
        owner=row.get("assignee") or row["created_by"],
        now=now,
    )


def create(
    conn: Connection,
    args: CreateTicketArgs,
    user: User,
    now: datetime,
    tz: str,
    *,
    client_id: str | None = None,
    mutation_id: int | None = None,
) -> tuple[dict[str, Any], int | None]:
    """Insert a new ticket; a repeat of an existing id by its creator is answered as done."""
    existing = get_row(conn, args.id)
    if existing is not None:
        if existing["created_by"] == user.username:
            return existing, None
        raise Rejected(f"ticket id {args.id} is already taken", "id")
    fields = check_fields(args.model_dump(include=set(TicketFields.model_fields)))
    disposition = args.disposition
    status = Status.ACCEPTED
    values: dict[str, Any] = {}
    if disposition == Disposition.ON_SPOT:
        status = Status.CLOSED
        values.update(closed_at=args.created_at, first_response_at=args.created_at)
    elif disposition == Disposition.DISPATCH:
        status = Status.DISPATCHED
        values.update(dispatched_at=args.created_at, first_response_at=args.created_at)
    row: dict[str, Any] = {
        **fields,
        **values,
        "id": args.id,
        "number": _number(conn, now, tz),
        "revision": 1,
        "status": status.value,
        "disposition": disposition.value,
        "escalation_level": 0,
        "call_started_at": args.call_started_at,
        "created_at": args.created_at,
        "created_by": user.username,
        "team": user.team,
        "assignee": user.username,
        "overdue": False,
        "received_at": now,
        "updated_at": now,
        "field_revisions": {},
    }
    conn.execute(_INSERT_TICKET, row)
    row = get_row(conn, args.id) or row
    _history(conn, row, user.username, "create", {k: {"to": fields[k]} for k in fields}, now,
             client_id=client_id, mutation_id=mutation_id)  # fmt: skip
    return row, publish(conn, row, now)


def same_create(conn: Connection, row: dict[str, Any], args: CreateTicketArgs) -> bool:
    """Is ``args`` the request that created ``row`` (a retry), not another ticket under a
    used id? Compared with what the create recorded (the ticket may have changed since):
    the normalized fields, the desk's two times and the disposition."""
    try:
        fields = check_fields(args.model_dump(include=set(TicketFields.model_fields)))
    except Rejected:
        return False
    created = conn.execute(
        sa.select(ticket_history.c.changes)
        .where(ticket_history.c.ticket_id == row["id"], ticket_history.c.action == "create")
        .order_by(ticket_history.c.id)
        .limit(1)
    ).scalar()
    if isinstance(created, dict):
        recorded = {k: v.get("to") if isinstance(v, dict) else v for k, v in created.items()}
    else:
        recorded = _json({k: row.get(k) for k in fields})
    return bool(
        recorded == _json(fields)
        and row["call_started_at"] == args.call_started_at
        and row["created_at"] == args.created_at
        and row["disposition"] == args.disposition.value
    )


def write_changes(
    conn: Connection,
    row: dict[str, Any],
    changes: dict[str, Any],
    actor: str,
    action: str,
    now: datetime,
    *,
    reason: str | None = None,
    conflict: dict[str, Any] | None = None,
    lost: dict[str, Any] | None = None,
    client_id: str | None = None,
    mutation_id: int | None = None,
) -> tuple[dict[str, Any], int]:
    """Apply ``changes`` (column -> new value) to a locked ticket row: new revision, audit
    row with the old and new values, change-log entry. Returns (new row, seq)."""
    revision = int(row["revision"]) + 1
    field_revs = dict(row.get("field_revisions") or {})
    diff: dict[str, Any] = {}
    for key, value in changes.items():
        if row.get(key) != value:
            diff[key] = {"from": row.get(key), "to": value}
            field_revs[key] = revision
    values = {**changes, "revision": revision, "updated_at": now, "field_revisions": field_revs}
    conn.execute(sa.update(tickets).where(tickets.c.id == row["id"]).values(values))
    new = {**row, **values}
    _history(conn, new, actor, action, diff, now, reason=reason, conflict=conflict,
             client_id=client_id, mutation_id=mutation_id)  # fmt: skip
    return new, publish(conn, new, now, lost=lost)


def update_fields(
    conn: Connection,
    row: dict[str, Any],
    changes: dict[str, Any],
    base_revision: int,
    actor: str,
    now: datetime,
    *,
    actor_role: str = "agent",
    **audit: Any,
) -> tuple[dict[str, Any], int, dict[str, Any] | None]:
    """Merge an agent's field changes (SYNC.md conflicts): different fields merge; the same
    field changed by someone else since ``base_revision`` -- this later write wins by server
    order, and the value it replaces is recorded as the loser."""
    if Status(row["status"]) in FINISHED_STATUSES:
        raise Rejected(
            f"ticket {row['number']} is {row['status']}: reopen it (move to handling) before "
            "changing its fields",
            "status",
        )
    if base_revision > int(row["revision"]):
        raise Rejected(
            f"base_revision {base_revision} is newer than the ticket's revision {row['revision']}",
            "base_revision",
        )
    changes = dict(changes)
    assignment = (
        _reassignment(conn, changes.pop("assignee"), actor_role) if ("assignee" in changes) else {}
    )
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise Rejected(f"{unknown[0]} is not a field an agent can change", f"changes.{unknown[0]}")
    try:
        new_values = check_fields(changes, partial=True) if changes else {}
    except Rejected as exc:
        raise Rejected(exc.reason, f"changes.{exc.field}" if exc.field else "changes") from None
    new_values.update(assignment)
    field_revs = row.get("field_revisions") or {}
    conflict: dict[str, Any] = {}
    lost: dict[str, Any] = {}
    for key, value in new_values.items():
        if int(field_revs.get(key, 0)) > base_revision and row.get(key) != value:
            conflict[key] = {"mine": value, "theirs": row.get(key), "kept": "mine"}
            lost[key] = _lost_value(conn, row, key, int(field_revs[key]), value, actor)
    new, seq = write_changes(conn, row, new_values, actor, "update", now,
                             conflict=conflict or None, lost=lost or None, **audit)  # fmt: skip
    return new, seq, conflict or None


def _lost_value(
    conn: Connection, row: dict[str, Any], key: str, revision: int, kept: Any, kept_by: str
) -> dict[str, Any]:
    """Who wrote the value that is being overwritten (SYNC.md: the agent who lost sees both):
    the desk that sent it recognises its own client id and mutation id."""
    wrote = conn.execute(
        sa.select(ticket_history.c.actor, ticket_history.c.client_id, ticket_history.c.mutation_id)
        .where(ticket_history.c.ticket_id == row["id"], ticket_history.c.revision == revision)
        .limit(1)
    ).first()
    return {
        "lost": row.get(key),
        "lost_by": wrote.actor if wrote else None,
        "client_id": wrote.client_id if wrote else None,
        "mutation_id": wrote.mutation_id if wrote else None,
        "kept": kept,
        "kept_by": kept_by,
    }


def _reassignment(conn: Connection, assignee: Any, actor_role: str) -> dict[str, Any]:
    """Moving a ticket to another agent is a shift lead's decision (they balance the seats);
    the ticket follows the agent into their team so that agent's desk pulls it."""
    if actor_role not in ("lead", "admin"):
        raise Rejected("only a shift lead can reassign a ticket", "changes.assignee")
    if not isinstance(assignee, str) or not assignee.strip():
        raise Rejected("name the agent to reassign the ticket to", "changes.assignee")
    row = conn.execute(
        sa.select(users.c.username, users.c.role, users.c.team, users.c.active).where(
            users.c.username == assignee.strip()
        )
    ).first()
    if row is None or not row.active or row.role != "agent":
        raise Rejected(f"there is no active agent named {assignee.strip()}", "changes.assignee")
    moved: dict[str, Any] = {"assignee": row.username}
    if row.team is not None:
        moved["team"] = row.team
    return moved


def change_status(
    conn: Connection,
    row: dict[str, Any],
    to: Status,
    actor: str,
    now: datetime,
    *,
    reason: str | None = None,
    **audit: Any,
) -> tuple[dict[str, Any], int]:
    current = Status(row["status"])
    try:
        move(current, to)
    except IllegalTransition as exc:
        raise Rejected(str(exc), "to") from None
    changes: dict[str, Any] = {"status": to.value}
    if to == Status.DISPATCHED and row.get("dispatched_at") is None:
        changes["dispatched_at"] = now
    if to != Status.MERGED and row.get("first_response_at") is None:
        changes["first_response_at"] = now
    if to == Status.CLOSED:
        changes["closed_at"] = now
    if to == Status.HANDLING and current in FINISHED_STATUSES:
        changes["closed_at"] = None  # reopened
    return write_changes(conn, row, changes, actor, "status", now, reason=reason, **audit)


def add_note(
    conn: Connection,
    row: dict[str, Any],
    note: Note,
    now: datetime,
    **audit: Any,
) -> int | None:
    """Append a note (idempotent by note id); returns the change-log seq, None if repeated."""
    have = conn.execute(sa.select(notes.c.ticket_id).where(notes.c.id == note.id)).first()
    if have is not None:
        if have[0] != note.ticket_id:
            raise Rejected(f"note id {note.id} belongs to another ticket", "note_id")
        return None
    conn.execute(
        sa.insert(notes).values(
            id=note.id,
            ticket_id=note.ticket_id,
            body=note.body,
            author=note.author,
            created_at=note.created_at,
            received_at=now,
        )
    )
    _history(conn, row, note.author, "note", {"note": {"to": note.id}}, now, **audit)
    return changelog.append_change(
        conn,
        entity=Entity.NOTE,
        entity_id=note.id,
        data=note.model_dump(mode="json"),
        team=row["team"],
        owner=row["created_by"],
        now=now,
    )


def escalate(
    conn: Connection, row: dict[str, Any], reason: str, actor: str, now: datetime, **audit: Any
) -> tuple[dict[str, Any], int]:
    level = EscalationLevel(int(row["escalation_level"]))
    if level >= EscalationLevel.CITY_SUPERVISION:
        raise Rejected("the ticket is already at the top of the escalation ladder", "ticket_id")
    if Status(row["status"]) in FINISHED_STATUSES:
        raise Rejected(f"a {row['status']} ticket cannot be escalated", "ticket_id")
    changes = {"escalation_level": int(level) + 1}
    return write_changes(conn, row, changes, actor, "escalate", now, reason=reason, **audit)
