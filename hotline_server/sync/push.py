"""``POST /sync/push``: one serialized transaction per batch per client (SYNC.md "Push").

Serialization: SQLite takes the write lock at BEGIN (``BEGIN IMMEDIATE``); PostgreSQL locks
the client's ``sync_clients`` row (an insert that is safe under concurrency, or the
existing row locked by its ``ON CONFLICT DO UPDATE``) and then the change-log counter, in
that order for every writer, both in one statement.
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
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from hotline.protocol import (
    MAX_PUSH_BATCH,
    SCHEMA_VERSION,
    Mutation,
    MutationEnvelope,
    MutationName,
    MutationOutcome,
    MutationResult,
    PushRequest,
    PushResponse,
    UUIDStr,
)
from hotline_server import changelog
from hotline_server.auth import User
from hotline_server.db.bulk import insert_many
from hotline_server.db.engine import write_transaction
from hotline_server.db.schema import sync_clients, sync_results
from hotline_server.errors import unstorable_field
from hotline_server.sync import clients, pull
from hotline_server.sync.registry import (
    Applied,
    ApplyContext,
    Rejected,
    applier_for,
    args_model,
    batch_applier_for,
)

log = logging.getLogger("hotline_server.sync")


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
    """Lock the client's row (made at its first use, owned by ``user``), then the change-log
    counter (``changelog.lock_counter``), and read the client's ``last_mutation_id``;
    another user's client id is refused before anything is applied. PostgreSQL: one
    statement for the three (:func:`clients.claim_lock_and_counter`), which was two."""
    found: tuple[str, int] | None
    if conn.dialect.name == "postgresql":
        owner, last, counter = clients.claim_lock_and_counter(conn, client_id, user.username, now)
        changelog.counter_locked(conn, counter)
        found = (owner, last)
    else:  # BEGIN IMMEDIATE already holds the write lock: insert only when missing
        found = clients.read(conn, client_id)
        if found is None:
            clients.insert_if_missing(conn, client_id, user.username, now)
            found = (user.username, 0)
        changelog.lock_counter(conn)  # nothing to take: SQLite's write lock is held
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


_STORED_RESULTS = sa.select(sync_results.c.mutation_id, sync_results.c.result).where(
    sync_results.c.client_id == sa.bindparam("client_id"),
    sync_results.c.mutation_id.in_(sa.bindparam("ids", expanding=True)),
)


_ADVANCE = (
    sa.update(sync_clients)
    .where(sync_clients.c.client_id == sa.bindparam("the_client"))
    .values(last_mutation_id=sa.bindparam("last"), updated_at=sa.bindparam("now"))
)  # the owner never changes; built once (every push runs it)
# PostgreSQL: the same update inside the change-log counter's statement (the client's row
# and the counter are both locked since the push began: no new lock, no new order).
_ADVANCE_CTE = _ADVANCE.cte("advanced")


def _duplicates(
    conn: Connection, client_id: str, repeated: Sequence[MutationEnvelope]
) -> list[MutationResult]:
    """The first answers of mutations already handled, read in one statement."""
    if not repeated:
        return []
    ids = [m.mutation_id for m in repeated]
    rows = conn.execute(_STORED_RESULTS, {"client_id": client_id, "ids": ids})
    found = {int(r[0]): r[1] for r in rows}
    out = []
    for m in repeated:
        stored = found.get(m.mutation_id)
        first = dict(stored) if stored else {}
        first.pop("outcome", None)
        first["mutation_id"] = m.mutation_id
        out.append(MutationResult(outcome=MutationOutcome.DUPLICATE, **first))
    return out


def nul_path(value: Any, path: str = "") -> str | None:
    """Where a NUL character hides in ``value`` (PostgreSQL text cannot store it). Every
    mutation passes through here: a quick pass first (:func:`_surely_no_nul`), and the
    walk that names the path only when that pass is not sure."""
    if _surely_no_nul(value):
        return None
    return _nul_walk(value, path)


def _surely_no_nul(value: Any) -> bool:
    """True when no key or string anywhere in ``value`` holds a NUL; False when one does, or
    when something is not a plain ``str``/``dict``/``list``/number (then the walk decides)."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            for key, item in v.items():
                if type(key) is not str or "\x00" in key:
                    return False
                ti = type(item)
                if ti is str:
                    if "\x00" in item:
                        return False
                elif ti is dict or ti is list:
                    stack.append(item)
                elif item is not None and ti is not int and ti is not bool and ti is not float:
                    return False
        elif t is list:
            stack.extend(v)
        elif t is str:
            if "\x00" in v:
                return False
        elif v is not None and t is not int and t is not bool and t is not float:
            return False
    return True


def _nul_walk(value: Any, path: str = "") -> str | None:
    """The path of the first NUL character in ``value`` (an item's path is only spelled out
    when it holds one)."""
    if isinstance(value, str):
        return (path or "value") if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        name = key if isinstance(key, str) else str(key)
        if "\x00" in name or (isinstance(item, str) and "\x00" in item):
            return (f"{path}.{name}" if path else name) or "value"
        if isinstance(item, dict | list):
            found = _nul_walk(item, f"{path}.{name}" if path else name)
            if found is not None:
                return found
    return None


def _rejected(base: dict[str, Any], reason: str, field_: str | None = None) -> MutationResult:
    # a reason or field may quote the client's text: no NUL reaches the database
    return MutationResult(**base, outcome=MutationOutcome.REJECTED,
                          reason=reason.replace("\x00", ""),
                          field=field_.replace("\x00", "") if field_ else None)  # fmt: skip


def _envelope_data(m: MutationEnvelope) -> dict[str, Any]:
    """The mutation as the client sent it (an envelope holds the parsed JSON as is: read,
    not copied; ``Mutation.model_validate`` copies what it keeps)."""
    if isinstance(m, Mutation):
        return m.model_dump(mode="json")
    data = {"mutation_id": m.mutation_id, "name": m.name, "args": m.args,
            "client_time": m.client_time, "schema_version": m.schema_version}  # fmt: skip
    if m.model_extra:
        data.update(m.model_extra)
    return data


def stored_name(m: MutationEnvelope) -> str:
    """The mutation's name as ``sync_results.name`` can hold it, whatever the client sent."""
    if m.name is None:
        return ""
    name = m.name.value if isinstance(m.name, MutationName) else str(m.name)
    return name.replace("\x00", "")[:32]


def _well_formed(m: MutationEnvelope, nul_free: bool = False) -> Mutation | MutationResult:
    """The strict :class:`Mutation`, or the rejection naming the field at fault.
    ``nul_free``: the request's body holds no NUL anywhere (not looked for again)."""
    base = {"mutation_id": m.mutation_id}
    data = _envelope_data(m)
    nul = None if nul_free else nul_path(data)
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


def _rejection(base: dict[str, Any], exc: Rejected) -> MutationResult:
    field_ = f"args.{exc.field}" if exc.field and not exc.field.startswith("args") else exc.field
    return _rejected(base, exc.reason, field_)


# ``MutationResult(**values)`` without ``BaseModel.__init__``'s keyword packing: the same
# validation, the same model (fields set included), ~1 us less per mutation
_RESULT_OF = MutationResult.__pydantic_validator__.validate_python


def _applied(base: dict[str, Any], applied: Applied) -> MutationResult:
    result: MutationResult = _RESULT_OF(
        {**base, "outcome": MutationOutcome.APPLIED, "ticket_id": applied.ticket_id,
         "ticket_number": applied.ticket_number, "revision": applied.revision,
         "conflict": applied.conflict}
    )  # fmt: skip
    return result


def _checked(
    ctx: ApplyContext, envelope: MutationEnvelope
) -> tuple[Mutation, Any] | MutationResult:
    """The mutation and its validated args, or the rejection naming the field at fault
    (nothing is written before this answers)."""
    base = {"mutation_id": envelope.mutation_id}
    checked = _well_formed(envelope, ctx.nul_free)
    if isinstance(checked, MutationResult):
        return checked
    m = checked
    if applier_for(m.name) is None:
        return _rejected(base, f"this server cannot apply {m.name.value}", "name")
    try:
        return m, args_model(m.name).model_validate(m.args)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "args"
        return _rejected(base, f"args.{name}: {err['msg']}", f"args.{name}")
    except Exception as exc:  # a validator's bug: the same as an applier's, below
        log.exception("mutation %s of %s: args unreadable", m.mutation_id, ctx.client_id)
        return _rejected(base, f"the server could not read its args ({type(exc).__name__})")


_MUTATIONS = TypeAdapter(list[Mutation])
_ARGS_LISTS: dict[type[BaseModel], TypeAdapter[list[Any]]] = {}


def _args_list(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    adapter = _ARGS_LISTS.get(model)
    if adapter is None:
        adapter = _ARGS_LISTS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


def _checked_together(
    ctxs: Sequence[ApplyContext], mutations: Sequence[MutationEnvelope]
) -> list[tuple[Mutation, Any] | MutationResult] | None:
    """What :func:`_checked` answers for each mutation, found with one pydantic call for
    the batch's mutations and one per name for their args (pydantic's cost per call, ~1 us,
    once instead of twice per mutation), when every mutation is well formed and its args
    valid. None as soon as anything would be refused (a newer schema, a name without an
    applier, a field pydantic refuses) or raises: the caller then checks each mutation on
    its own (:func:`_checked`), which finds the same answers and names the field. Only for
    a body known to hold no NUL (``nul_free``, every real desk's): a mutation that may hold
    one is walked for it once, by :func:`_checked`."""
    if not mutations:
        return []
    if all(ctx.nul_free for ctx in ctxs) and all(type(m) is Mutation for m in mutations):
        # read whole from the body (:func:`read_clean_body`): as :func:`_checked` takes a
        # Mutation, with the version check it makes
        strict = [m for m in mutations if isinstance(m, Mutation)]
        if any(m.schema_version > SCHEMA_VERSION for m in strict):
            return None
    else:
        datas = []
        for ctx, m in zip(ctxs, mutations, strict=True):
            if isinstance(m, Mutation) or not ctx.nul_free:
                return None
            data = _envelope_data(m)
            version = data.get("schema_version")
            if isinstance(version, int) and not isinstance(version, bool):  # noqa: SIM102
                if version > SCHEMA_VERSION:
                    return None
            datas.append(data)
        try:
            strict = _MUTATIONS.validate_python(datas)
        except Exception:  # refused (or a validator's bug): each alone, as before
            return None
    by_name: dict[MutationName, list[int]] = {}
    for i, m in enumerate(strict):
        if applier_for(m.name) is None:
            return None
        by_name.setdefault(m.name, []).append(i)
    args: list[Any] = [None] * len(strict)
    for name, positions in by_name.items():
        try:
            valid = _args_list(args_model(name)).validate_python(
                [strict[i].args for i in positions]
            )
        except Exception:  # a field refused (or a validator's bug): each alone, as before
            return None
        for i, a in zip(positions, valid, strict=True):
            args[i] = a
    out: list[tuple[Mutation, Any] | MutationResult] = [
        (m, a) for m, a in zip(strict, args, strict=True)
    ]
    return out


class _CleanPush(BaseModel):
    """:class:`PushRequest` with every mutation a strict :class:`Mutation`: what a desk's
    body is, read straight from its JSON text in one pydantic pass."""

    model_config = PushRequest.model_config
    client_id: UUIDStr
    mutations: list[Mutation] = Field(max_length=MAX_PUSH_BATCH)


def read_clean_body(body: bytes) -> PushRequest | None:
    """The push ``body`` (JSON, holding no NUL: ``limits.NUL_FREE``) as a
    :class:`PushRequest` of strict mutations, parsed and checked in one pass, when every
    mutation is well formed and of this server's schema or older; None when anything is off
    (not JSON, a field refused, a newer schema, a validator's bug). The route then reads the
    body the usual way (``json.loads``, :class:`PushRequest` of envelopes) and each
    mutation is checked on its own, which finds the same answers and names the field.

    The same values as the usual way whenever this answers: pydantic's JSON mode takes
    the same text to the same values as ``json.loads`` then its Python mode (the last of
    repeated keys, ``NaN``, big integers, floats; a lone surrogate or a byte-order mark
    is refused here and read the usual way); ``tests/unit/server/test_push_clean_body.py``
    compares the two over many bodies. Only the newer-schema check is added: the usual
    way lets a schema version written as text through (``Mutation`` turns ``"5"`` into 5
    after the check looked), so any newer version is left to it."""
    try:
        clean = _CleanPush.model_validate_json(body)
    except Exception:  # refused (or a validator's bug): the usual way, as before
        return None
    for m in clean.mutations:
        if m.schema_version > SCHEMA_VERSION:
            return None
    return PushRequest.model_construct(client_id=clean.client_id, mutations=clean.mutations)


def _database_gone(exc: BaseException) -> bool:
    """A busy or lost database: the whole batch fails and the client retries it."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and bool(getattr(exc, "connection_invalidated", False))
    )


def apply_one(ctx: ApplyContext, envelope: MutationEnvelope) -> MutationResult:
    """Apply one mutation in its own SAVEPOINT, or reject it with a reason: whatever the
    mutation holds, the answer is a result (only a busy or lost database fails the batch)."""
    base = {"mutation_id": envelope.mutation_id}
    checked = _checked(ctx, envelope)
    if isinstance(checked, MutationResult):
        return checked
    m, args = checked
    fn = applier_for(m.name)
    assert fn is not None  # _checked rejects a name without one
    try:
        with ctx.conn.begin_nested():
            applied = fn(ctx, args)
    except Rejected as exc:
        return _rejection(base, exc)
    except (OperationalError, DBAPIError) as exc:
        if _database_gone(exc):
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
    return _applied(base, applied)


class _OneByOne(Exception):
    """The batch raised: roll it back and apply it again, one mutation per SAVEPOINT."""


def _apply_together(
    ctxs: list[ApplyContext],
    mutations: Sequence[MutationEnvelope],
    changes: changelog.ChangeBuffer,
) -> list[MutationResult]:
    """The batch in one go: runs of one name through its batch applier (one statement per
    table, no savepoint); a mutation whose name has none is applied alone in its own
    SAVEPOINT as before (a rejection from such an applier then costs no retry of the batch).
    Rejections found before anything is written are answered here; anything a batch applier
    raises (a database error, a bug) raises :class:`_OneByOne`, and the caller rolls the
    whole batch back to apply it again one mutation per SAVEPOINT."""
    checked = _checked_together(ctxs, mutations)
    if checked is None:  # something in the batch is refused or not plain: each on its own
        checked = [_checked(ctx, m) for ctx, m in zip(ctxs, mutations, strict=True)]
    results: list[MutationResult | None] = [c if isinstance(c, MutationResult) else None
                                            for c in checked]  # fmt: skip
    i = 0
    while i < len(checked):
        c = checked[i]
        if isinstance(c, MutationResult):
            i += 1
            continue
        name = c[0].name
        batch_fn = batch_applier_for(name)
        end = i + 1
        if batch_fn is not None:
            while end < len(checked):
                nxt = checked[end]
                if isinstance(nxt, MutationResult) or nxt[0].name != name:
                    break
                end += 1
        if batch_fn is None:  # one mutation of its own: in its SAVEPOINT, as before
            mark = changes.mark()
            results[i] = apply_one(ctxs[i], mutations[i])
            if results[i].outcome != MutationOutcome.APPLIED:  # type: ignore[union-attr]
                changes.truncate(mark)  # rolled back to its savepoint: its changes too
            i = end
            continue
        run = range(i, end)
        try:
            done = batch_fn([ctxs[k] for k in run], [checked[k][1] for k in run])  # type: ignore[index]
        except Exception as exc:
            if _database_gone(exc):
                raise
            raise _OneByOne from exc
        for k, d in zip(run, done, strict=True):
            base = {"mutation_id": mutations[k].mutation_id}
            results[k] = _rejection(base, d) if isinstance(d, Rejected) else _applied(base, d)
        i = end
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


_ANSWER_FIELDS = tuple(k for k in MutationResult.model_fields if k != "mutation_id")
_PLAIN_ANSWER = frozenset({str, int, type(None)})
assert _ANSWER_FIELDS[0] == "outcome", "a stored answer starts with its outcome"
_answer_rest = itemgetter(*_ANSWER_FIELDS[1:])


def _stored_answer(result: MutationResult) -> dict[str, Any]:
    """``result.model_dump(mode="json", exclude={"mutation_id"})``, read off the model's
    values in one go when every one is plain already (an answer without a conflict: text,
    numbers, None; the outcome's value), without pydantic's serializer per mutation."""
    if type(result.outcome) is MutationOutcome:
        rest = _answer_rest(result.__dict__)
        if _PLAIN_ANSWER.issuperset(map(type, rest)):
            return dict(zip(_ANSWER_FIELDS, (result.outcome.value, *rest), strict=True))
    return result.model_dump(mode="json", exclude={"mutation_id"})


def _teams_reader(conn: Connection, given: bool | None) -> Callable[[], bool]:
    """Whether team visibility applies: ``given``, or read on ``conn`` at the first ask and
    kept for the rest of the push (one transaction)."""
    if given is not None:
        return lambda: given
    known: list[bool] = []

    def read() -> bool:
        if not known:
            known.append(pull.teams_configured(conn))
        return known[0]

    return read


def push(
    engine: Engine,
    user: User,
    request: PushRequest,
    now: datetime,
    *,
    timezone: str,
    teams_configured: bool | None = None,
    nul_free: bool = False,
) -> PushOutcome:
    """Apply the batch in one go (no savepoints, one statement per table for runs of
    ``create_ticket``, one change-log counter bump); only if that raises, roll back and
    apply it again in a fresh transaction, one mutation per SAVEPOINT, so the bad one gets
    its own precise answer and the rest still apply (SYNC.md "Push").
    ``teams_configured``: None reads it in the push's transaction, once, when an applier
    first asks (a batch of creates never does). ``nul_free``: the request's body holds no
    NUL character anywhere (``limits.NUL_FREE``), so no mutation is walked for one."""
    try:
        return _push(engine, user, request, now, timezone, teams_configured, nul_free,
                     one_by_one=False)  # fmt: skip
    except _OneByOne as exc:
        log.info("push of %s applied one by one (%s)", request.client_id,
                 type(exc.__cause__).__name__)  # fmt: skip
        return _push(engine, user, request, now, timezone, teams_configured, nul_free,
                     one_by_one=True)  # fmt: skip


def _push(
    engine: Engine,
    user: User,
    request: PushRequest,
    now: datetime,
    timezone: str,
    teams_configured: bool | None,
    nul_free: bool,
    *,
    one_by_one: bool,
) -> PushOutcome:
    seqs: list[int] = []
    after: list[Callable[[Any], None]] = []
    with write_transaction(engine) as conn, changelog.batched(conn) as changes:
        last = _lock_client(conn, request.client_id, user, now)  # and the counter's lock
        _check_order(request.mutations, last)
        repeated = [m for m in request.mutations if m.mutation_id <= last]
        fresh = [m for m in request.mutations if m.mutation_id > last]
        results = _duplicates(conn, request.client_id, repeated)
        teams = _teams_reader(conn, teams_configured)
        ctxs = [ApplyContext(conn=conn, user=user, now=now, client_id=request.client_id,
                             mutation_id=m.mutation_id, timezone=timezone, teams=teams,
                             nul_free=nul_free)
                for m in fresh]  # fmt: skip
        if not one_by_one:
            answers = _apply_together(ctxs, fresh, changes)
        else:
            answers = []
            for ctx, m in zip(ctxs, fresh, strict=True):
                mark = changes.mark()
                answers.append(apply_one(ctx, m))
                if answers[-1].outcome != MutationOutcome.APPLIED:
                    changes.truncate(mark)  # rolled back to its savepoint: its changes too
        stored: list[dict[str, Any]] = []  # the answers kept for replays, written together
        for ctx, m, result in zip(ctxs, fresh, answers, strict=True):
            if result.outcome == MutationOutcome.APPLIED:
                seqs.extend(ctx.seqs)
                after.extend(ctx.after_commit)
            stored.append(
                {"client_id": request.client_id, "mutation_id": m.mutation_id,
                 "name": stored_name(m), "outcome": result.outcome.value,
                 "username": user.username, "at": now, "result": _stored_answer(result)},
            )  # fmt: skip
            last = m.mutation_id
        results.extend(answers)
        if stored:  # one statement for the batch's answers (no mutation reads another's)
            insert_many(conn, sync_results, stored)
        advance = {"the_client": request.client_id, "last": last, "now": now}
        if not changes.flush(conn, along=(_ADVANCE_CTE, advance)):  # one round trip on PG
            conn.execute(_ADVANCE, advance)
    response = PushResponse(last_mutation_id=last, results=results)
    return PushOutcome(response, max(seqs) if seqs else None, after)
