"""Sync appliers for ``set_seat_state`` and ``report_call``: seats and desk-reported calls
travel through push like every other mutation (offline desks queue them in the outbox).

Times come from the desk (``args.at``: what the agent saw); out-of-order arrival is handled
the same way as telephony events (history keeps everything, the seat never moves back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from hotline.protocol import ReportCallArgs, SeatState, SetSeatStateArgs
from hotline_server.live import store
from hotline_server.live.wire import CallEvent, CallEventType
from hotline_server.sync.registry import Rejected

DESK_QUEUE = "desk"


@dataclass
class Applied:
    effects: store.Effects = field(default_factory=store.Effects)


def apply_set_seat_state(
    conn: Connection, username: str, args: SetSeatStateArgs, now: datetime
) -> store.Effects:
    if args.state == SeatState.LINK_DOWN:
        raise Rejected("link_down is set by the server, not by a desk", "state")
    if args.state == SeatState.BREAK and not args.reason:
        raise Rejected("a break needs a reason", "reason")
    effects = store.Effects()
    # the report first: a seat that touch_seat would create "now" must not hide what the
    # desk saw earlier (an offline desk syncs its seat changes later)
    store.set_seat_state(conn, username, args.state.value, at=args.at, now=now, source="agent",
                         reason=args.reason, effects=effects)  # fmt: skip
    store.touch_seat(conn, username, now=now, effects=effects)
    return effects


def apply_report_call(
    conn: Connection, username: str, args: ReportCallArgs, now: datetime
) -> store.Effects:
    """A call the agent's desk saw (no phone system): answered from a number, then ended."""
    effects = store.Effects()
    call_id = f"desk-{username}-{args.call_id}"[:64]
    events: list[CallEvent] = []
    if args.event == "answered":
        # A desk-reported call is answered when it is offered: it never waited in a queue
        # the server can see, so it does not change speed of answer or service level.
        events.append(_event(call_id, CallEventType.OFFERED, args, username))
        events.append(_event(call_id, CallEventType.ANSWERED, args, username))
    else:
        events.append(_event(call_id, CallEventType.ENDED, args, username))
    for ev in events:
        store.record_call_event(conn, ev, now=now, source="desk", effects=effects)
    store.touch_seat(conn, username, now=now, effects=effects)
    return effects


def _event(call_id: str, type_: CallEventType, args: ReportCallArgs, agent: str) -> CallEvent:
    return CallEvent(
        event_id=f"{call_id}:{type_.value}"[:100],
        type=type_,
        call_id=call_id,
        at=args.at,
        caller_number=args.caller_number or None,
        queue=DESK_QUEUE,
        agent=agent,
    )


def register() -> None:
    """Hook ``set_seat_state`` and ``report_call`` into the core's push machinery."""
    from hotline.protocol import MutationName
    from hotline_server.live import core
    from hotline_server.sync import registry

    def publish(effects: store.Effects) -> object:
        def after(app: object) -> None:
            from hotline_server.live.api import publish_effects

            hub = getattr(getattr(app, "state", None), "live", None)
            if hub is not None:
                publish_effects(hub, effects)

        return after

    def seat(ctx: registry.ApplyContext, args: SetSeatStateArgs) -> registry.Applied:
        effects = apply_set_seat_state(ctx.conn, ctx.user.username, args, ctx.now)
        user = core.UserInfo(ctx.user.username, ctx.user.role.value, ctx.user.team)
        seq = core.record_seat_change(ctx.conn, user, ctx.now)
        if seq is not None:
            ctx.seqs.append(seq)
        ctx.after_commit.append(publish(effects))  # type: ignore[arg-type]
        return registry.Applied()

    def call(ctx: registry.ApplyContext, args: ReportCallArgs) -> registry.Applied:
        effects = apply_report_call(ctx.conn, ctx.user.username, args, ctx.now)
        ctx.after_commit.append(publish(effects))  # type: ignore[arg-type]
        return registry.Applied()

    registry.register(MutationName.SET_SEAT_STATE, seat)
    registry.register(MutationName.REPORT_CALL, call)
