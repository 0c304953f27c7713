"""HTTP endpoints of the live side: telephony, seats, events, metrics, reports, KB, forms."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncGenerator, Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from hotline import metrics as M
from hotline.callbacks import CallbackRefused, parse_outcome
from hotline.metrics import site_tz
from hotline.protocol import Entity, SeatState
from hotline_server.errors import ERROR_RESPONSES
from hotline_server.live import callbacks, core, forms, kb, reports, store
from hotline_server.live.broker import Event, Subscriber, sse_frame
from hotline_server.live.hub import LiveHub
from hotline_server.live.stream import EventStream
from hotline_server.live.wire import (
    CallbackAttemptOut,
    CallbackListOut,
    CallbackOut,
    CallbackOutcomeIn,
    CallbackState,
    CallEventBatch,
    CallEventBatchResult,
    CallEventResult,
    EventOutcome,
    FormsIn,
    FormsOut,
    KbArticleIn,
    KbArticleOut,
    KbListOut,
    SeatOut,
    SeatsOut,
    SeatUpdate,
    Window,
)

router = APIRouter(prefix="/api/v1", tags=["live"], responses=ERROR_RESPONSES)

User = Annotated[core.UserInfo, Depends(core.current_user)]
Lead = Annotated[core.UserInfo, Depends(core.lead_user)]
Admin = Annotated[core.UserInfo, Depends(core.admin_user)]


def hub_of(request: Request) -> LiveHub:
    hub: LiveHub = request.app.state.live
    return hub


Hub = Annotated[LiveHub, Depends(hub_of)]


def publish_effects(hub: LiveHub, effects: store.Effects) -> None:
    for agent, call_id in effects.offers:
        hub.signal({"k": "offer", "agent": agent, "call": call_id})
    if effects.calls_changed or effects.seat_moves:
        hub.signal({"k": "dirty"})


# ---------------------------------------------------------------- telephony


@router.post(
    "/telephony/events",
    response_model=CallEventBatchResult,
    dependencies=[Depends(core.require_telephony)],
    summary="Phone-system (ACD/CTI) call events; idempotent by event_id",
)
def telephony_events(batch: CallEventBatch, hub: Hub) -> CallEventBatchResult:
    """The batch in one transaction (one set of statements for all its events). Should
    that fail, it is applied again event by event, each in a savepoint, so one bad event is
    rejected alone and never costs the others (or a 500)."""
    now = hub.clock()
    effects = store.Effects()
    try:
        with core.write(hub.engine) as conn:
            results = store.record_call_events(
                conn, batch.events, now=now, source="telephony", effects=effects
            )
    except Exception:  # rolled back: nothing of the batch was kept
        results, effects = one_by_one(hub, batch, now)
    publish_effects(hub, effects)
    return CallEventBatchResult(results=results)


def one_by_one(
    hub: LiveHub, batch: CallEventBatch, now: datetime
) -> tuple[list[CallEventResult], store.Effects]:
    effects = store.Effects()
    results: list[CallEventResult] = []
    with core.write(hub.engine) as conn:
        for ev in batch.events:
            try:
                with conn.begin_nested():
                    results.append(
                        store.record_call_event(
                            conn, ev, now=now, source="telephony", effects=effects
                        )
                    )
            except Exception as exc:  # one bad event never costs the batch (or a 500)
                results.append(
                    CallEventResult(
                        event_id=ev.event_id,
                        outcome=EventOutcome.REJECTED,
                        reason=f"could not record the event: {type(exc).__name__}",
                    )
                )
    return results, effects


# ---------------------------------------------------------------- seats


def seat_out(row: dict[str, Any], now: datetime, tickets_today: int = 0) -> SeatOut:
    started = row.get("call_started_at")
    on_call = row["state"] in ("on_call", "after_call") and started is not None
    return SeatOut(
        agent=row["agent"],
        state=SeatState(row["state"]),
        reason=row.get("reason"),
        since=row.get("since"),
        last_seen=row.get("last_seen"),
        offline_since=row.get("offline_since"),
        call_id=row.get("call_id"),
        call_started_at=started,
        current_call_seconds=(now - started).total_seconds() if on_call and started else None,
        tickets_today=tickets_today,
        unsynced=row.get("unsynced"),
    )


@router.put("/seats/me", response_model=SeatOut, summary="Set my seat state")
def put_my_seat(body: SeatUpdate, user: User, hub: Hub) -> SeatOut:
    if body.state == SeatState.LINK_DOWN:
        raise core.problem(422, "link_down is set by the server, not by a desk", "state")
    if body.state == SeatState.BREAK and not body.reason:
        raise core.problem(422, "a break needs a reason", "reason")
    now = hub.clock()
    effects = store.Effects()
    with core.write(hub.engine) as conn:
        store.touch_seat(
            conn,
            user.username,
            now=now,
            unsynced=body.unsynced,
            client_id=body.client_id,
            effects=effects,
        )
        store.set_seat_state(
            conn,
            user.username,
            body.state.value,
            at=now,
            now=now,
            source="agent",
            reason=body.reason,
            effects=effects,
        )
        seq = core.record_seat_change(conn, user, now)
        row = store.get_seat(conn, user.username)
    publish_effects(hub, effects)
    if seq is not None:
        core.committed(hub, seq, (None, user.username))  # the seat row: owner only
    assert row is not None
    return seat_out(row, now)


class Heartbeat(BaseModel):
    unsynced: int | None = Field(default=None, ge=0, le=100_000_000)
    client_id: str | None = Field(default=None, max_length=36, pattern=r"^[0-9a-fA-F-]{1,36}$")


@router.post("/seats/me/heartbeat", status_code=204, summary="My desk is alive")
def seat_heartbeat(body: Heartbeat, user: User, hub: Hub) -> Response:
    now = hub.clock()
    effects = store.Effects()
    with core.write(hub.engine) as conn:
        store.touch_seat(
            conn,
            user.username,
            now=now,
            unsynced=body.unsynced,
            client_id=body.client_id,
            effects=effects,
        )
    publish_effects(hub, effects)
    return Response(status_code=204)


@router.get("/seats", response_model=SeatsOut, summary="All seats (leads)")
def get_seats(user: Lead, hub: Hub) -> SeatsOut:
    now = hub.clock()
    tz = site_tz(hub.settings.timezone)
    with hub.engine.connect() as conn:
        table = reports.seats_table(conn, now=now, tz=tz, tickets_today=core.tickets_today)
    seats = [SeatOut.model_validate(r) for r in table]
    from hotline.metrics import seats_by_state

    return SeatsOut(
        seats=seats,
        counts=seats_by_state(s.state.value for s in seats),
        link_down_after_seconds=hub.settings.link_down_seconds,
    )


# ---------------------------------------------------------------- events (SSE)


@router.get(
    "/events",
    summary="Server-Sent Events: pokes, call offers, lead panel",
    response_class=EventStream,
    status_code=200,  # FastAPI reads it off a response class's __init__; EventStream's has none
)
async def events(
    request: Request,
    user: User,
    hub: Hub,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventStream:
    broker = hub.broker
    beat = hub.settings.heartbeat_seconds
    touched = [0.0]  # monotonic time of this stream's last seat touch

    def alive(heartbeat: bool, now: float) -> None:
        """An open stream is a sign of life from an agent's desk (leads have no seat): on
        each heartbeat, and on events when a stream is too busy for heartbeats (a burst of
        offers: without this its seat would go link-down mid-burst, and a link-down seat
        gets no offers). The hub writes the touches of all streams together, once a second:
        a stream never waits for the database, and pokes never queue behind seat writes."""
        if heartbeat or now - touched[0] >= beat:
            touched[0] = now
            if user.role == "agent":
                hub.touch_seat(user.username)

    def subscribe() -> Subscriber:
        return broker.subscribe(user.username, user.role, user.team)

    def opening(sub: Subscriber) -> AsyncGenerator[bytes, None]:
        # right after subscribing, in the same step: an event is either in the replay or
        # will reach the stream's mailbox, never both
        replay = broker.replay_after(user.username, last_event_id)
        return first_frames(hub, sub, replay, alive)

    return EventStream(broker, subscribe, opening, alive)


async def first_frames(
    hub: LiveHub,
    sub: Subscriber,
    replay: list[Event] | None,
    alive: Callable[[bool, float], None],
) -> AsyncGenerator[bytes, None]:
    """hello (the change-log seq, read after subscribing, so no change falls in between),
    then what the client missed (or a poke if that cannot be told), a pending call offer
    (into the mailbox, like any offer), and a lead's panel."""
    broker = hub.broker
    seq = await asyncio.to_thread(core.current_seq, hub.engine)
    hello = {
        "seq": seq,
        "instance": broker.instance,
        "heartbeat_seconds": hub.settings.heartbeat_seconds,
    }
    yield sse_frame("hello", json.dumps(hello))
    if replay is None:
        yield sse_frame("poke", json.dumps({"seq": seq}))
    else:
        for ev in replay:
            yield ev.frame
    alive(True, time.monotonic())
    offer = await asyncio.to_thread(core.pending_offer, hub, sub.username)
    if offer is not None:
        broker.to_user(sub.username, "call_offer", offer)
    if sub.is_lead and hub.panel_builder is not None:
        panel = await asyncio.to_thread(hub.panel_builder)
        yield sse_frame("panel", json.dumps(panel, default=str))


# ---------------------------------------------------------------- callbacks (漏接回拨)


def _callback_out(row: dict[str, Any], history: list[dict[str, Any]] | None = None) -> CallbackOut:
    out = CallbackOut.model_validate({k: row[k] for k in CallbackOut.model_fields if k in row})
    if history is not None:
        out.history = [CallbackAttemptOut.model_validate(h) for h in history]
    return out


def _refused(exc: CallbackRefused) -> HTTPException:
    return core.problem(exc.status, str(exc), exc.field)


@router.get("/callbacks", response_model=CallbackListOut, summary="The missed-call callback list")
def callbacks_list(
    user: User,
    hub: Hub,
    state: CallbackState = CallbackState.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> CallbackListOut:
    """``open``: waiting or being called back, oldest miss first; ``done``: closed today
    (site time), latest first; ``all``: both."""
    now = hub.clock()
    since = M.day_start(now, site_tz(hub.settings.timezone))
    with hub.engine.connect() as conn:
        rows = callbacks.list_callbacks(conn, state=state.value, since=since, limit=limit)
        waiting = callbacks.count_open(conn)
    return CallbackListOut(callbacks=[_callback_out(r) for r in rows], open=waiting)


@router.get("/callbacks/{callback_id}", response_model=CallbackOut, summary="One callback")
def callback_get(callback_id: str, user: User, hub: Hub) -> CallbackOut:
    with hub.engine.connect() as conn:
        row = callbacks.get_callback(conn, callback_id)
        if row is None:
            raise core.problem(404, f"no callback {callback_id}", "id")
        return _callback_out(row, callbacks.attempts_of(conn, callback_id))


def _callback_write(hub: LiveHub, work: Any) -> CallbackOut:
    now = hub.clock()
    try:
        with core.write(hub.engine) as conn:
            row = work(conn, now)
            out = _callback_out(row, callbacks.attempts_of(conn, row["id"]))
    except CallbackRefused as exc:
        raise _refused(exc) from exc
    hub.signal({"k": "dirty"})  # the lead panel's callback figures
    return out


@router.post(
    "/callbacks/{callback_id}/claim", response_model=CallbackOut, summary="Take a callback"
)
def callback_claim(callback_id: str, user: User, hub: Hub) -> CallbackOut:
    """The entry is the caller's from now on: nobody else rings the same citizen (409 names
    who holds it; a done entry is 409 too)."""
    return _callback_write(
        hub, lambda conn, now: callbacks.claim(conn, callback_id, user.username, now=now)
    )


@router.post(
    "/callbacks/{callback_id}/release",
    response_model=CallbackOut,
    summary="Give a taken callback back to the list",
)
def callback_release(callback_id: str, user: User, hub: Hub) -> CallbackOut:
    return _callback_write(
        hub, lambda conn, now: callbacks.release(conn, callback_id, user.username, now=now)
    )


@router.post(
    "/callbacks/{callback_id}/outcome",
    response_model=CallbackOut,
    summary="Record how a callback went (against the missed call)",
)
def callback_outcome(
    callback_id: str, body: CallbackOutcomeIn, user: User, hub: Hub
) -> CallbackOut:
    try:
        outcome = parse_outcome(body.outcome)
    except CallbackRefused as exc:
        raise _refused(exc) from exc
    return _callback_write(
        hub,
        lambda conn, now: callbacks.record_outcome(
            conn, callback_id, user.username, outcome, body.note, now=now
        ),
    )


# ---------------------------------------------------------------- metrics and reports


@router.get("/metrics/summary", summary="Shift-lead measures (METRICS.md) for a window")
def metrics_summary(user: Lead, hub: Hub, window: Window = Window.TODAY) -> dict[str, Any]:
    now = hub.clock()
    with hub.engine.connect() as conn:
        out = reports.summary(
            conn,
            window=window.value,
            now=now,
            tz=site_tz(hub.settings.timezone),
            load_tickets=core.load_ticket_records,
            load_open_red=core.load_open_red,
            tickets_today=core.tickets_today,
            service_level_seconds=hub.settings.service_level_seconds,
            link_down_seconds=hub.settings.link_down_seconds,
        )
        out["policy"] = policy_figures(conn, hub, now)
    return out


def policy_figures(conn: Any, hub: LiveHub, now: datetime) -> dict[str, Any]:
    """The clock policy in force and what it makes of the tickets now: ``overdue_now`` is
    every ticket past a deadline under that policy (holidays, surge, category rules)."""
    import sqlalchemy as sa

    from hotline_server.db.schema import tickets as t
    from hotline_server.tickets import overdue_clause

    loaded = hub.site_policy_loaded() if hasattr(hub, "site_policy_loaded") else None
    site = loaded.policy if loaded is not None else None
    clause = overdue_clause(
        now,
        hub.settings.timezone,
        site.escalation if site else None,
        site.calendar if site else None,
    )
    overdue = int(
        conn.execute(sa.select(sa.func.count()).select_from(t).where(clause)).scalar_one()
    )
    return {
        "version": loaded.version if loaded is not None else 0,
        "surge": bool(site and site.surge),
        "overdue_now": overdue,
    }


REPORT_FIRST_DAY = date(1900, 1, 1)
REPORT_LAST_DAY = date(9000, 12, 31)


@router.get(
    "/reports/daily",
    summary="Daily report (yesterday by default) as CSV or JSON",
    responses={
        200: {
            "description": "the report rows",
            "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def daily_report(
    user: Lead,
    hub: Hub,
    date_: Annotated[date | None, Query(alias="date")] = None,
    to: date | None = None,
    format: Annotated[str, Query(pattern="^(csv|json)$")] = "json",
) -> Response:
    tz = site_tz(hub.settings.timezone)
    first = date_ or (hub.clock().astimezone(tz).date() - timedelta(days=1))
    last = to or first
    for name, day in (("date", first), ("to", last)):
        if not REPORT_FIRST_DAY <= day <= REPORT_LAST_DAY:  # local midnights must exist in UTC
            raise core.problem(
                422,
                f"'{name}' must be between {REPORT_FIRST_DAY} and {REPORT_LAST_DAY}",
                name,
            )
    if last < first:
        raise core.problem(422, "'to' is before 'date'", "to")
    if (last - first).days > 92:
        raise core.problem(422, "a report covers at most 93 days", "to")
    with hub.engine.connect() as conn:
        rows = reports.daily_report(
            conn,
            first=first,
            last=last,
            tz=tz,
            load_tickets=core.load_ticket_records,
            service_level_seconds=hub.settings.service_level_seconds,
        )
    if format == "csv":
        name = f"hotline-daily-{first.isoformat()}" + (
            f"-{last.isoformat()}" if last != first else ""
        )
        return Response(
            reports.report_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    body = {"from": first.isoformat(), "to": last.isoformat(), "timezone": str(tz), "rows": rows}
    return Response(
        json.dumps(body, ensure_ascii=False, default=str), media_type="application/json"
    )


# ---------------------------------------------------------------- knowledge base


@router.get("/kb", response_model=KbListOut, summary="Search the knowledge base (?q= Chinese)")
def kb_list(
    user: User,
    hub: Hub,
    q: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=40)] = None,
    current: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> KbListOut:
    with hub.engine.connect() as conn:
        articles, total = kb.search(
            conn,
            q,
            category=category,
            now=hub.clock() if current else None,
            limit=limit,
            offset=offset,
        )
    return KbListOut(articles=articles, total=total)


@router.get("/kb/{article_id}", response_model=KbArticleOut, summary="One article")
def kb_get(article_id: str, user: User, hub: Hub) -> KbArticleOut:
    with hub.engine.connect() as conn:
        article = kb.get_article(conn, article_id)
    if article is None:
        raise core.problem(404, f"no article {article_id}", None)
    return article


@router.post("/kb", response_model=KbArticleOut, status_code=201, summary="Write an article")
def kb_post(body: KbArticleIn, user: Lead, hub: Hub) -> KbArticleOut:
    now = hub.clock()
    try:
        with core.write(hub.engine) as conn:
            article = kb.save_article(conn, body, author=user.username, now=now)
            seq = core.append_change(
                conn,
                entity=Entity.KB_ARTICLE,
                entity_id=article.id,
                data=kb.article_data(article),
                now=now,
            )
    except kb.KbError as exc:
        raise core.problem(exc.status, str(exc), exc.field) from exc
    core.committed(hub, seq, (None, None))  # for everyone
    return article


# ---------------------------------------------------------------- forms


@router.get("/directory/units", summary="The handling-unit directory (承办单位) for intake")
def directory_units(user: User) -> dict[str, Any]:
    """The units a ticket can be dispatched to; desks keep the last copy for offline use."""
    from hotline.units import SHIPPED_UNITS, units_as_json

    units = units_as_json(SHIPPED_UNITS)
    canon = json.dumps(units, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {"version": hashlib.sha256(canon.encode()).hexdigest()[:16], "units": units}


@router.get("/forms", response_model=FormsOut, summary="Current ticket-entry forms")
def forms_get(user: User, hub: Hub) -> FormsOut:
    with hub.engine.connect() as conn:
        return forms.current(conn)


@router.put("/forms", response_model=FormsOut, summary="Replace the forms (admin)")
def forms_put(body: FormsIn, user: Admin, hub: Hub) -> FormsOut:
    now = hub.clock()
    try:
        with core.write(hub.engine) as conn:
            out = forms.replace(conn, body.forms, by=user.username, now=now)
            seq = core.append_change(
                conn,
                entity=Entity.FORM_SET,
                entity_id="current",
                data=out.model_dump(mode="json"),
                now=now,
            )
    except forms.FormsError as exc:
        raise core.problem(422, str(exc), "forms") from exc
    core.committed(hub, seq, (None, None))  # for everyone
    return out


@router.delete("/forms", response_model=FormsOut, summary="Back to the shipped forms (admin)")
def forms_reset(user: Admin, hub: Hub) -> FormsOut:
    now = hub.clock()
    with core.write(hub.engine) as conn:
        out = forms.reset(conn)
        seq = core.append_change(
            conn,
            entity=Entity.FORM_SET,
            entity_id="current",
            data=out.model_dump(mode="json"),
            now=now,
        )
    core.committed(hub, seq, (None, None))  # for everyone
    return out


_ = HTTPException  # re-exported for core.problem's users
