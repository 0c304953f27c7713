"""``POST /sync/push``: one serialized transaction per batch per client (SYNC.md "Push").

Serialization: SQLite takes the write lock at BEGIN (``BEGIN IMMEDIATE``); PostgreSQL locks
the client's ``sync_clients`` row (``SELECT ... FOR UPDATE`` after an insert-if-missing that
is safe under concurrency) and then the change-log counter, in that order for every writer.
A second copy of a batch therefore waits, then finds every mutation at or below
``last_mutation_id`` and answers ``duplicate``: a repeated or concurrent push is harmless.
The client id belongs to the user who first used it (:mod:`hotline_server.sync.clients`):
anyone else's push is refused whole, so only the owner's mutations ever count against it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from hotline.protocol import (
    SCHEMA_VERSION,
    Mutation,
    MutationEnvelope,
    MutationName,
    MutationOutcome,
    MutationResult,
    PushRequest,
    PushResponse,
)
from hotline_server import changelog
from hotline_server.auth import User
from hotline_server.db.engine import write_transaction
from hotline_server.db.schema import sync_clients, sync_results
from hotline_server.errors import unstorable_field
from hotline_server.sync import clients
from hotline_server.sync.registry import ApplyContext, Rejected, applier_for, args_model

log = logging.getLogger("hotline_server.sync")

_INSERT_RESULT = sync_results.insert()  # built once: one row per pushed mutation


class Gap(ValueError):
    """The batch skips mutation ids: the server refuses it whole (409)."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(
            f"mutation {got} arrived but {expected} is next for this client: "
            f"push the outbox in order from mutation {expected}"
        )
        self.expected = expected
        self.got = got


class OutOfOrder(ValueError):
    pass


@dataclass
class PushOutcome:
    response: PushResponse
    last_seq: int | None = None
    after_commit: list[Callable[[Any], None]] = field(default_factory=list)


def _lock_client(conn: Connection, client_id: str, user: User, now: datetime) -> int:
    """Lock the client's row (made at its first use, owned by ``user``) and read its
    ``last_mutation_id``; another user's client id is refused before anything is applied."""
    if conn.dialect.name == "postgresql":
        clients.insert_if_missing(conn, client_id, user.username, now)
        found = clients.read(conn, client_id, lock=True)
    else:  # BEGIN IMMEDIATE already holds the write lock: insert only when missing
        found = clients.read(conn, client_id)
        if found is None:
            clients.insert_if_missing(conn, client_id, user.username, now)
            found = (user.username, 0)
    assert found is not None
    clients.check_owner(client_id, found[0], user)
    return found[1]


def _check_order(mutations: Sequence[MutationEnvelope], last: int) -> None:
    previous = 0
    expected = last + 1
    for m in mutations:
        if m.mutation_id <= previous:
            raise OutOfOrder(
                f"mutation ids must increase within a batch: {m.mutation_id} follows {previous}"
            )
        previous = m.mutation_id
        if m.mutation_id <= last:
            continue
        if m.mutation_id != expected:
            raise Gap(expected, m.mutation_id)
        expected += 1


def _duplicate(conn: Connection, client_id: str, m: MutationEnvelope) -> MutationResult:
    row = conn.execute(
        sa.select(sync_results.c.result).where(
            sync_results.c.client_id == client_id, sync_results.c.mutation_id == m.mutation_id
        )
    ).first()
    first = dict(row[0]) if row else {}
    first.pop("outcome", None)
    first["mutation_id"] = m.mutation_id
    return MutationResult(outcome=MutationOutcome.DUPLICATE, **first)


def nul_path(value: Any, path: str = "") -> str | None:
    """Where a NUL character hides in ``value`` (PostgreSQL text cannot store it)."""
    if isinstance(value, str):
        return (path or "value") if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        key_path = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return key_path
        found = nul_path(item, key_path)
        if found is not None:
            return found
    return None


def _rejected(base: dict[str, Any], reason: str, field_: str | None = None) -> MutationResult:
    # a reason or field may quote the client's text: no NUL reaches the database
    return MutationResult(**base, outcome=MutationOutcome.REJECTED,
                          reason=reason.replace("\x00", ""),
                          field=field_.replace("\x00", "") if field_ else None)  # fmt: skip


def _envelope_data(m: MutationEnvelope) -> dict[str, Any]:
    return m.model_dump(mode="json") if isinstance(m, Mutation) else m.model_dump()


def stored_name(m: MutationEnvelope) -> str:
    """The mutation's name as ``sync_results.name`` can hold it, whatever the client sent."""
    if m.name is None:
        return ""
    name = m.name.value if isinstance(m.name, MutationName) else str(m.name)
    return name.replace("\x00", "")[:32]


def _well_formed(m: MutationEnvelope) -> Mutation | MutationResult:
    """The strict :class:`Mutation`, or the rejection naming the field at fault."""
    base = {"mutation_id": m.mutation_id}
    data = _envelope_data(m)
    nul = nul_path(data)
    if nul is not None:
        return _rejected(base, f"{nul}: text must not contain NUL characters", nul)
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return _rejected(base, f"schema_version {version} is newer than this server's "
                         f"{SCHEMA_VERSION}: upgrade the server", "schema_version")  # fmt: skip
    if isinstance(m, Mutation):
        return m
    try:
        return Mutation.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "mutation"
        return _rejected(base, f"{name}: {err['msg']}", name)


def apply_one(ctx: ApplyContext, envelope: MutationEnvelope) -> MutationResult:
    """Apply one mutation in its own SAVEPOINT, or reject it with a reason: whatever the
    mutation holds, the answer is a result (only a busy or lost database fails the batch)."""
    base = {"mutation_id": envelope.mutation_id}
    checked = _well_formed(envelope)
    if isinstance(checked, MutationResult):
        return checked
    m = checked
    fn = applier_for(m.name)
    if fn is None:
        return _rejected(base, f"this server cannot apply {m.name.value}", "name")
    try:
        args = args_model(m.name).model_validate(m.args)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "args"
        return _rejected(base, f"args.{name}: {err['msg']}", f"args.{name}")
    except Exception as exc:  # a validator's bug: the same as an applier's, below
        log.exception("mutation %s of %s: args unreadable", m.mutation_id, ctx.client_id)
        return _rejected(base, f"the server could not read its args ({type(exc).__name__})")
    try:
        with ctx.conn.begin_nested():
            applied = fn(ctx, args)
    except Rejected as exc:
        field_ = (
            f"args.{exc.field}" if exc.field and not exc.field.startswith("args") else exc.field
        )
        return _rejected(base, exc.reason, field_)
    except (OperationalError, DBAPIError) as exc:
        if isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False):
            raise  # the database is busy or gone: the whole batch is retried, nothing is lost
        log.exception("mutation %s of %s could not be stored", m.mutation_id, ctx.client_id)
        column = unstorable_field(exc) if isinstance(exc, DataError) else None
        if column is not None and column in m.args:
            return _rejected(base, f"args.{column}: the database cannot store this value",
                             f"args.{column}")  # fmt: skip
        return _rejected(base, f"the server could not store it ({type(exc).__name__})")
    except Exception as exc:  # a bug must not block this client's outbox: reject, log
        log.exception("mutation %s of %s failed", m.mutation_id, ctx.client_id)
        return _rejected(base, f"the server could not apply it ({type(exc).__name__})")
    return MutationResult(**base, outcome=MutationOutcome.APPLIED,
                          ticket_id=applied.ticket_id, ticket_number=applied.ticket_number,
                          revision=applied.revision, conflict=applied.conflict)  # fmt: skip


def push(
    engine: Engine,
    user: User,
    request: PushRequest,
    now: datetime,
    *,
    timezone: str,
    teams_configured: bool,
) -> PushOutcome:
    results: list[MutationResult] = []
    seqs: list[int] = []
    after: list[Callable[[Any], None]] = []
    stored: list[dict[str, Any]] = []  # the answers kept for replays, written together
    with write_transaction(engine) as conn:
        last = _lock_client(conn, request.client_id, user, now)
        changelog.lock_counter(conn)
        _check_order(request.mutations, last)
        for m in request.mutations:
            if m.mutation_id <= last:
                results.append(_duplicate(conn, request.client_id, m))
                continue
            ctx = ApplyContext(conn=conn, user=user, now=now, client_id=request.client_id,
                               mutation_id=m.mutation_id, timezone=timezone,
                               teams_configured=teams_configured)  # fmt: skip
            result = apply_one(ctx, m)
            if result.outcome == MutationOutcome.APPLIED:
                seqs.extend(ctx.seqs)
                after.extend(ctx.after_commit)
            stored.append(
                {"client_id": request.client_id, "mutation_id": m.mutation_id,
                 "name": stored_name(m), "outcome": result.outcome.value,
                 "username": user.username, "at": now,
                 "result": result.model_dump(mode="json", exclude={"mutation_id"})},
            )  # fmt: skip
            results.append(result)
            last = m.mutation_id
        if stored:  # one statement for the batch's answers (no mutation reads another's)
            conn.execute(_INSERT_RESULT, stored)
        conn.execute(
            sa.update(sync_clients)
            .where(sync_clients.c.client_id == request.client_id)
            .values(last_mutation_id=last, updated_at=now)  # the owner never changes
        )
    response = PushResponse(last_mutation_id=last, results=results)
    return PushOutcome(response, max(seqs) if seqs else None, after)
