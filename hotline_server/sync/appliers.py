"""The core's appliers: every ticket mutation of ``hotline.protocol.MutationName``."""

from __future__ import annotations

from typing import Any

from hotline.model import Note, Status
from hotline.protocol import (
    AddNoteArgs,
    ChangeStatusArgs,
    CreateTicketArgs,
    EscalateArgs,
    MergeTicketArgs,
    MutationName,
    RecordCallbackArgs,
    UpdateTicketArgs,
)
from hotline.states import FINISHED_STATUSES, can_move
from hotline.validators import FieldError
from hotline_server import tickets
from hotline_server.sync.registry import Applied, ApplyContext, Rejected, register


def _audit(ctx: ApplyContext) -> dict[str, Any]:
    return {"client_id": ctx.client_id, "mutation_id": ctx.mutation_id}


def _row(ctx: ApplyContext, ticket_id: str) -> dict[str, Any]:
    return tickets.visible_row(ctx.user, ctx.conn, ticket_id, ctx.teams_configured)


def _done(ctx: ApplyContext, row: dict[str, Any], seq: int | None, **kw: Any) -> Applied:
    if seq is not None:
        ctx.seqs.append(seq)
    return Applied(ticket_id=row["id"], ticket_number=row["number"], revision=row["revision"], **kw)


def create_ticket(ctx: ApplyContext, args: CreateTicketArgs) -> Applied:
    row, seq = tickets.create(ctx.conn, args, ctx.user, ctx.now, ctx.timezone, **_audit(ctx))
    return _done(ctx, row, seq)


def create_tickets(
    ctxs: list[ApplyContext], batch: list[CreateTicketArgs]
) -> list[Applied | Rejected]:
    """Many ``create_ticket`` in one go (one statement per table), as :func:`create_ticket`
    would apply them one by one."""
    first = ctxs[0]
    done = tickets.create_many(first.conn, batch, first.user, first.now, first.timezone,
                               client_id=first.client_id,
                               mutation_ids=[c.mutation_id for c in ctxs],
                               nul_checked=True)  # push._well_formed refused any NUL  # fmt: skip
    return [d if isinstance(d, Rejected) else _done(c, *d) for c, d in zip(ctxs, done, strict=True)]


def update_ticket(ctx: ApplyContext, args: UpdateTicketArgs) -> Applied:
    row = _row(ctx, args.ticket_id)
    new, seq, conflict = tickets.update_fields(
        ctx.conn,
        row,
        args.changes,
        args.base_revision,
        ctx.user.username,
        ctx.now,
        actor_role=ctx.user.role.value,
        **_audit(ctx),
    )
    return _done(ctx, new, seq, conflict=conflict)


def change_status(ctx: ApplyContext, args: ChangeStatusArgs) -> Applied:
    row = _row(ctx, args.ticket_id)
    if args.to == Status.MERGED:
        raise Rejected("use merge_ticket to merge a ticket (并单)", "to")
    if args.to == Status.EVALUATED and can_move(Status(row["status"]), args.to):
        # 评价 records the caller's score: only record_callback carries one (an illegal move
        # is refused by the state machine below, naming both states)
        missing = FieldError("satisfaction", "satisfaction_required")
        raise Rejected(f"{missing.message('en')}: record it with record_callback", "satisfaction")
    new, seq = tickets.change_status(
        ctx.conn, row, args.to, ctx.user.username, ctx.now, reason=args.reason, **_audit(ctx)
    )
    return _done(ctx, new, seq)


def add_note(ctx: ApplyContext, args: AddNoteArgs) -> Applied:
    row = _row(ctx, args.ticket_id)
    note = Note(id=args.note_id, ticket_id=args.ticket_id, body=args.body,
                author=ctx.user.username, created_at=args.created_at)  # fmt: skip
    seq = tickets.add_note(ctx.conn, row, note, ctx.now, **_audit(ctx))
    return _done(ctx, row, seq)


def escalate(ctx: ApplyContext, args: EscalateArgs) -> Applied:
    row = _row(ctx, args.ticket_id)
    new, seq = tickets.escalate(ctx.conn, row, args.reason, ctx.user.username, ctx.now,
                                **_audit(ctx))  # fmt: skip
    return _done(ctx, new, seq)


def merge_ticket(ctx: ApplyContext, args: MergeTicketArgs) -> Applied:
    if args.ticket_id == args.into_ticket_id:
        raise Rejected("a ticket cannot be merged into itself", "into_ticket_id")
    into = tickets.visible_row(ctx.user, ctx.conn, args.into_ticket_id, ctx.teams_configured)
    if into["status"] == Status.MERGED.value:
        raise Rejected(
            f"ticket {into['number']} was itself merged into another; merge into that one",
            "into_ticket_id",
        )
    if Status(into["status"]) in FINISHED_STATUSES:
        raise Rejected(
            f"ticket {into['number']} is already {into['status']}: a repeated request is not "
            "merged into a finished ticket; save it as a new ticket (or reopen that one first)",
            "into_ticket_id",
        )
    row = _row(ctx, args.ticket_id)
    new, seq = tickets.change_status(
        ctx.conn, row, Status.MERGED, ctx.user.username, ctx.now,
        reason=f"merged into {into['number']} (并单)", **_audit(ctx),
    )  # fmt: skip
    new, seq = tickets.write_changes(
        ctx.conn, new, {"merged_into": into["id"]}, ctx.user.username, "merge", ctx.now,
        reason=f"merged into {into['number']} (并单)", **_audit(ctx),
    )  # fmt: skip
    ctx.seqs.append(seq)
    _, seq_into = tickets.write_changes(
        ctx.conn, into, {}, ctx.user.username, "merged_from", ctx.now,
        reason=f"ticket {row['number']} merged into this one (并单)", **_audit(ctx),
    )  # fmt: skip
    return _done(ctx, new, seq_into)


def record_callback(ctx: ApplyContext, args: RecordCallbackArgs) -> Applied:
    row = _row(ctx, args.ticket_id)
    current = Status(row["status"])
    if current not in (Status.CLOSED, Status.CALLBACK):
        raise Rejected(
            f"a callback (回访) follows a closed ticket; this one is {current.value}", "ticket_id"
        )
    if not args.reached and args.satisfaction is not None:
        unreached = FieldError("satisfaction", "satisfaction_unreached")
        raise Rejected(unreached.message("en"), "satisfaction")
    changes: dict[str, Any] = {"callback_at": ctx.now}
    if args.reached:
        target = Status.EVALUATED if args.satisfaction is not None else Status.CALLBACK
        if target != current:
            changes["status"] = target.value
        if args.satisfaction is not None:
            changes["satisfaction"] = args.satisfaction.value
    reason = ("caller reached" if args.reached else "caller not reached") + (
        f": {args.note}" if args.note else ""
    )
    new, seq = tickets.write_changes(ctx.conn, row, changes, ctx.user.username, "callback",
                                     ctx.now, reason=reason, **_audit(ctx))  # fmt: skip
    return _done(ctx, new, seq)


def register_core() -> None:
    register(MutationName.CREATE_TICKET, create_ticket, create_tickets)
    register(MutationName.UPDATE_TICKET, update_ticket)
    register(MutationName.CHANGE_STATUS, change_status)
    register(MutationName.ADD_NOTE, add_note)
    register(MutationName.ESCALATE, escalate)
    register(MutationName.MERGE_TICKET, merge_ticket)
    register(MutationName.RECORD_CALLBACK, record_callback)
