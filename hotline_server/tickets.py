"""Tickets on the server: create, merge field changes, move status, notes, escalation.

Every write here bumps the ticket's revision, writes an audit row (who, when, what changed,
why, and the losing value of a conflict) and appends the new state to the change log, all in
the caller's transaction. Sync appliers and the REST endpoints both come through here, so a
ticket changes the same way whichever door the change used.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from json.encoder import encode_basestring_ascii
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, RowMapping

from hotline import clocks, privacy, validators
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
from hotline_server.db.bulk import JsonText, insert_many
from hotline_server.db.engine import json_text
from hotline_server.db.schema import (
    change_log,
    notes,
    ticket_history,
    ticket_numbers,
    tickets,
    users,
)
from hotline_server.sync.registry import Rejected
from hotline_server.ticket_json import plain_ticket_data, plain_ticket_rows

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
_ROWS_BY_IDS = sa.select(tickets).where(tickets.c.id.in_(sa.bindparam("ids", expanding=True)))
# PostgreSQL: the ids as one array parameter, not one parameter each: nothing rendered per
# id, one statement text for every batch size (prepared once). Each id is looked up by the
# primary key (a LATERAL ... LIMIT 1 per id), whatever the planner knows of the table:
# ``id = ANY($1)`` was planned, for a table not yet analyzed (a new database, the first
# minutes of a busy day), as a scan of every row compared with each of the batch's ids --
# 7-10 ms of the database's CPU per batch of 100 at 2,000 tickets, growing with the table.
_GIVEN_IDS = (
    sa.func.unnest(sa.bindparam("ids", type_=sa.ARRAY(tickets.c.id.type)))
    .table_valued("id")
    .render_derived(name="given")
)
_FOUND = sa.select(tickets).where(tickets.c.id == _GIVEN_IDS.c.id).limit(1).lateral("found")
_ROWS_BY_ID_ARRAY = sa.select(_FOUND).select_from(_GIVEN_IDS).join(_FOUND, sa.true())
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
    _refuse_nul(plain)
    if partial:
        plain = {k: plain[k] for k in fields}
    return domain_clean(plain, partial=partial)


def _refuse_nul(plain: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold a NUL character: refuse it naming where it hides."""
    from hotline_server.sync.push import nul_path

    nul = nul_path(plain)
    if nul is not None:
        raise Rejected(f"{nul}: text must not contain NUL characters", nul)


_TICKET_FIELDS = tuple(TicketFields.model_fields)
_FIELD_SET = frozenset(_TICKET_FIELDS)


def _clean_defaults() -> dict[str, Any]:
    """What the domain's rules make of each field's default (no rule refuses a default)."""
    cleaned, problems = validators.clean_ticket_fields(TicketFields().model_dump(mode="json"),
                                                       required=())  # fmt: skip
    assert not problems, problems
    return cleaned


_CLEAN_DEFAULTS = _clean_defaults()


def create_fields(args: CreateTicketArgs, *, nul_checked: bool = False) -> dict[str, Any]:
    """:func:`check_fields` of a create, for the whole ticket: ``args`` is a
    ``TicketFields`` already (validated by the same field rules on its way in), so only the
    NUL check and the domain's rules remain, and only for the fields the client gave: a field
    left out takes its default, which the rules clean the same way every time. The first
    problem found is the one :func:`check_fields` would name."""
    given = args.model_dump(mode="json", include=args.model_fields_set & _FIELD_SET)
    if not nul_checked:  # ``nul_checked``: the caller refused a NUL anywhere in the args
        _refuse_nul(given)
    # domain_clean without its merge into a copy of ``given`` (each rule cleans the field it
    # checks or names it in a problem: a given field is in ``cleaned``, only those are)
    cleaned, problems = validators.clean_ticket_fields(given, partial=False)
    if problems:
        first = problems[0]
        raise Rejected(first.message("en"), str(first.field))
    # every field in ``_TICKET_FIELDS`` order (the defaults' order): merged in C, not
    # looked up name by name; a default that is a dict is copied (never one shared dict)
    out = {**_CLEAN_DEFAULTS, **given, **cleaned}
    for name in _DICT_DEFAULTS:
        if name not in given:
            out[name] = dict(out[name])
    return out


_DICT_DEFAULTS = tuple(k for k, v in _CLEAN_DEFAULTS.items() if isinstance(v, dict))
assert tuple(_CLEAN_DEFAULTS) == _TICKET_FIELDS, "create_fields keeps the fields' order"


# ---------------------------------------------------------------- writing


def _next_number_statement(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (day) DO UPDATE value = value + n RETURNING value``: ``n``
    numbers of the day in one statement (the last one is returned)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        insert: Any = pg_insert(ticket_numbers)
    else:
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        insert = lite_insert(ticket_numbers)
    stmt = insert.values(day=sa.bindparam("day"), value=sa.bindparam("n")).on_conflict_do_update(
        index_elements=[ticket_numbers.c.day],
        set_={"value": ticket_numbers.c.value + insert.excluded.value},
    )
    return stmt.returning(ticket_numbers.c.value)


_NEXT_NUMBER: dict[str, Any] = {}


def _numbers(conn: Connection, now: datetime, tz: str, n: int) -> list[str]:
    """The next ``n`` ticket numbers of the local day, in order."""
    if n == 0:
        return []
    day = now.astimezone(ZoneInfo(tz)).strftime("%Y%m%d")
    dialect = conn.dialect.name
    stmt = _NEXT_NUMBER.get(dialect)
    if stmt is None:
        stmt = _NEXT_NUMBER[dialect] = _next_number_statement(dialect)
    top = int(conn.execute(stmt, {"day": day, "n": n}).scalar_one())
    return [f"{day}-{value:06d}" for value in range(top - n + 1, top + 1)]


def _history_values(
    row: dict[str, Any],
    actor: str,
    action: str,
    changes: dict[str, Any] | JsonText,
    now: datetime,
    *,
    reason: str | None = None,
    conflict: dict[str, Any] | None = None,
    client_id: str | None = None,
    mutation_id: int | None = None,
    json_ready: bool = False,
) -> dict[str, Any]:
    """``json_ready``: ``changes`` holds JSON values only (a create's cleaned fields), or is
    their text already (:class:`JsonText`)."""
    return {
        "ticket_id": row["id"],
        "revision": row["revision"],
        "at": now,
        "actor": actor,
        "action": action,
        "changes": changes if json_ready else _json(changes),
        "reason": reason,
        "conflict": _json(conflict) if conflict else None,
        "client_id": client_id,
        "mutation_id": mutation_id,
    }


def _history(
    conn: Connection,
    row: dict[str, Any],
    actor: str,
    action: str,
    changes: dict[str, Any],
    now: datetime,
    **kw: Any,
) -> None:
    conn.execute(_INSERT_HISTORY, _history_values(row, actor, action, changes, now, **kw))


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return getattr(value, "value", value)


def publish(
    conn: Connection,
    row: dict[str, Any],
    now: datetime,
    *,
    lost: dict[str, Any] | None = None,
) -> int:
    """Append the ticket to the change log. ``lost`` (same-field conflicts of this change)
    travels with it, so the desk whose value was overwritten learns it on its next pull.
    (A push's new tickets are appended together by ``_insert_new``, the same way.)"""
    data = plain_ticket_data(row)  # the same as ticket_data's, without the model
    if data is None:
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


class RepeatedId(ValueError):
    """One ticket id twice in a :func:`create_many` call: the caller creates them one by one
    (the second is then a repeat of the first, answered as done)."""


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
    (done,) = create_many(conn, [args], user, now, tz, client_id=client_id,
                          mutation_ids=[mutation_id])  # fmt: skip
    if isinstance(done, Rejected):
        raise done
    return done


def create_many(
    conn: Connection,
    batch: Sequence[CreateTicketArgs],
    user: User,
    now: datetime,
    tz: str,
    *,
    client_id: str | None = None,
    mutation_ids: Sequence[int | None] | None = None,
    nul_checked: bool = False,
) -> list[tuple[dict[str, Any], int | None] | Rejected]:
    """Insert new tickets, in order, with one statement per table for the whole batch: per
    ticket what :func:`create` answers -- (row, change-log seq), (existing row, None) for a
    repeat by its creator, or the :class:`Rejected` naming the field at fault (checked
    before anything is written, so a rejected ticket writes nothing and takes no number).
    Raises :class:`RepeatedId` when one id comes twice. ``nul_checked``: no NUL character is
    anywhere in the args (push refuses one before it applies anything)."""
    ids = [args.id for args in batch]
    if len(set(ids)) != len(ids):
        raise RepeatedId("a ticket id comes twice in one batch")
    mids: list[int | None] = list(mutation_ids) if mutation_ids is not None else [None] * len(batch)
    q = _ROWS_BY_ID_ARRAY if conn.dialect.name == "postgresql" else _ROWS_BY_IDS
    existing = {r["id"]: dict(r) for r in conn.execute(q, {"ids": ids}).mappings()}
    out: list[tuple[dict[str, Any], int | None] | Rejected | None] = []
    fresh: list[tuple[int, CreateTicketArgs, dict[str, Any]]] = []  # (position, args, fields)
    for i, args in enumerate(batch):
        found = existing.get(args.id)
        if found is not None:
            if found["created_by"] == user.username:
                out.append((found, None))
            else:
                out.append(Rejected(f"ticket id {args.id} is already taken", "id"))
            continue
        try:
            fields = create_fields(args, nul_checked=nul_checked)
            outcome = validators.outcome_problem(fields.get("answer"), args.disposition.value)
            if outcome is not None:  # refused here, before the batch writes anything
                raise Rejected(outcome.message("en"), outcome.field)
        except Rejected as exc:
            out.append(exc)
            continue
        out.append(None)  # the new row's place, filled below
        fresh.append((i, args, fields))
    if fresh:
        _insert_new(conn, fresh, out, user, now, tz, client_id, mids)
    assert all(done is not None for done in out)
    return out  # type: ignore[return-value]


def _insert_new(
    conn: Connection,
    fresh: list[tuple[int, CreateTicketArgs, dict[str, Any]]],
    out: list[tuple[dict[str, Any], int | None] | Rejected | None],
    user: User,
    now: datetime,
    tz: str,
    client_id: str | None,
    mids: list[int | None],
) -> None:
    numbers = _numbers(conn, now, tz, len(fresh))
    stamp = now.astimezone(UTC)  # every time as stored (and read back): in UTC
    new_rows = [_new_row(args, fields, user, stamp, number)
                for (_, args, fields), number in zip(fresh, numbers, strict=True)]  # fmt: skip
    # every column named (``_new_row``; a test holds it to the table): stored as it is,
    # nothing for the database to fill in or to read back
    insert_many(conn, tickets, new_rows)
    rows = new_rows
    insert_many(conn, ticket_history, [  # JsonText: both bulk inserts store it as it is
        _history_values(row, user.username, "create", _created_changes(fields),
                        now, client_id=client_id, mutation_id=mids[i], json_ready=True)
        for (i, _, fields), row in zip(fresh, rows, strict=True)
    ])  # fmt: skip
    times: dict[int, str] = {}  # the rows hold their times until the batch is published
    datas = plain_ticket_rows(rows, times)  # the same as ticket_data's, without the model
    with changelog.batched(conn):  # one counter bump for the batch (or the caller's)
        seqs = changelog.append_changes(conn, entity=Entity.TICKET, now=now, changes=[
            (row["id"], ticket_data(row) if data is None else data, row["team"],
             row.get("assignee") or row["created_by"])
            for row, data in zip(rows, datas, strict=True)
        ])  # as publish() appends each  # fmt: skip
    for (i, _, _), row, seq in zip(fresh, rows, seqs, strict=True):
        out[i] = (row, seq)


_KEY_TO: dict[str, str] = {}  # a field's name as the start of its entry: '"phone": {"to": '


def _created_changes(fields: dict[str, Any]) -> JsonText | dict[str, Any]:
    """A new ticket's history ``changes``, ``{field: {"to": value}}``, as the JSON text
    ``json.dumps`` makes of it, written out here: the C encoder is slow on many one-key
    dicts (12.5 -> 3.8 us for a desk's ticket). Each value is the text ``json.dumps`` makes
    of it alone (the same inside a larger value); a name that is not text keeps the dict."""
    parts = []
    for name, value in fields.items():
        start = _KEY_TO.get(name)
        if start is None:
            if type(name) is not str:
                return {k: {"to": v} for k, v in fields.items()}
            start = _KEY_TO[name] = encode_basestring_ascii(name) + ': {"to": '
        kind = type(value)
        if kind is str:
            text = encode_basestring_ascii(value)
        elif value is None:
            text = "null"
        elif kind is bool:
            text = "true" if value else "false"
        else:
            text = json_text(value)
        parts.append(start + text + "}")
    return JsonText("{" + ", ".join(parts) + "}")


_PLAIN_NULLABLE = frozenset(
    c.name for c in tickets.columns if c.nullable and c.server_default is None and c.default is None
)
_UNSET = {c.name: None for c in tickets.columns if c.name in _PLAIN_NULLABLE}


def _new_row(
    args: CreateTicketArgs, fields: dict[str, Any], user: User, now: datetime, number: str
) -> dict[str, Any]:
    """The new ticket's row, every column named (a column left out would be NULL: it is
    None here), times in UTC as they read back: ``now`` is in UTC already."""
    disposition = args.disposition  # its outcome rule was checked in create_many
    status = Status.ACCEPTED
    created = args.created_at.astimezone(UTC)
    values: dict[str, Any] = {}
    if disposition == Disposition.ON_SPOT:
        status = Status.CLOSED
        values.update(closed_at=created, first_response_at=created)
    elif disposition == Disposition.DISPATCH:
        status = Status.DISPATCHED
        values.update(dispatched_at=created, first_response_at=created)
    return {
        **_UNSET,
        **fields,
        **values,
        "id": args.id,
        "number": number,
        "revision": 1,
        "status": status.value,
        "disposition": disposition.value,
        "escalation_level": 0,
        "call_started_at": args.call_started_at.astimezone(UTC),
        "created_at": created,
        "created_by": user.username,
        "team": user.team,
        "assignee": user.username,
        "overdue": False,
        "received_at": now,
        "updated_at": now,
        "field_revisions": {},
    }


def same_create(conn: Connection, row: dict[str, Any], args: CreateTicketArgs) -> bool:
    """Is ``args`` the request that created ``row`` (a retry), not another ticket under a
    used id? Compared with what the create recorded (the ticket may have changed since):
    the normalized fields, the desk's two times and the disposition."""
    try:
        fields = create_fields(args)
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
    if privacy.hides_caller(new) and not privacy.hides_caller(row):
        _redact_feed(conn, row["id"])
    _history(conn, new, actor, action, diff, now, reason=reason, conflict=conflict,
             client_id=client_id, mutation_id=mutation_id)  # fmt: skip
    return new, publish(conn, new, now, lost=lost)


def _redact_feed(conn: Connection, ticket_id: str) -> None:
    """A ticket just made confidential: its earlier entries in the change log held the
    caller in plain view; they lose the caller fields, so a desk pulling from an old cursor
    never receives them (the next entry, with the caller, is filtered per viewer on pull)."""
    rows = conn.execute(
        sa.select(change_log.c.seq, change_log.c.data).where(
            change_log.c.entity == Entity.TICKET.value, change_log.c.entity_id == ticket_id
        )
    ).all()
    for seq, data in rows:
        if isinstance(data, dict) and not data.get("caller_hidden"):
            conn.execute(
                sa.update(change_log)
                .where(change_log.c.seq == seq)
                .values(data=privacy.redact_caller(data))
            )
    for entry in changelog.pending(conn):  # this push batch's entries, not written yet
        data = entry["data"]
        if (
            entry["entity"] == Entity.TICKET.value
            and entry["entity_id"] == ticket_id
            and isinstance(data, dict)
            and not data.get("caller_hidden")
        ):
            entry["data"] = privacy.redact_caller(data)


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
    if to == Status.REPLIED:
        missing = validators.reply_problem(row.get("answer"))
        if missing is not None:
            raise Rejected(missing.message("en"), missing.field)
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
