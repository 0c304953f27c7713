"""Live-side database work against real SQLite and PostgreSQL (tables created directly)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.live import store
from hotline_server.live.schema import live_calls, live_seat_changes, live_seats
from hotline_server.live.wire import CallEvent

T0 = datetime(2026, 3, 15, 1, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)  # the real schema: core and live migrations
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def ev(eid: str, type_: str, call: str, sec: float, **kw: object) -> CallEvent:
    return CallEvent.model_validate(
        {"event_id": eid, "type": type_, "call_id": call, "at": T0 + timedelta(seconds=sec), **kw}
    )


def apply(engine: Engine, *events: CallEvent) -> list[str]:
    eff = store.Effects()
    with engine.begin() as conn:
        return [
            store.record_call_event(conn, e, now=T0, source="telephony", effects=eff).outcome
            for e in events
        ]


def test_events_are_idempotent_and_reconciled_out_of_order(engine: Engine) -> None:
    offered = ev("e1", "offered", "c1", 0, caller_number="13800000001", queue="general")
    ended = ev("e4", "ended", "c1", 200, agent="alice")
    answered = ev("e3", "answered", "c1", 10, agent="alice")
    assert apply(engine, offered, ended) == ["applied", "applied"]
    with engine.connect() as conn:
        rec = store.load_call_records(conn, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert rec[0].is_abandoned  # ended, never answered: reads as an abandon for now
    assert apply(engine, answered, offered, ended) == ["applied", "duplicate", "duplicate"]
    with engine.connect() as conn:
        (rec2,) = store.load_call_records(conn, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        seat = store.get_seat(conn, "alice")
    assert rec2.is_answered and not rec2.is_abandoned
    assert rec2.handle_seconds() == pytest.approx(190)
    assert rec2.queue == "general" and rec2.caller_number == "13800000001"
    # the late "answered" (t=10) must not move the seat back from after-call work (t=200)
    assert seat is not None and seat["state"] == "after_call"


def test_seat_changes_and_link_down(engine: Engine) -> None:
    with engine.begin() as conn:
        store.set_seat_state(conn, "bob", "ready", at=T0, now=T0, source="agent")
        store.touch_seat(conn, "bob", now=T0, unsynced=3)
    later = T0 + timedelta(seconds=120)
    with engine.begin() as conn:
        assert store.mark_links_down(conn, now=later, timeout=timedelta(seconds=60)) == ["bob"]
        assert store.mark_links_down(conn, now=later, timeout=timedelta(seconds=60)) == []
        seat = store.get_seat(conn, "bob")
        assert seat is not None
        assert (seat["state"], seat["offline_since"], seat["unsynced"]) == ("link_down", T0, 3)
    back = later + timedelta(seconds=5)
    with engine.begin() as conn:
        store.touch_seat(conn, "bob", now=back)
        seat = store.get_seat(conn, "bob")
        assert seat is not None and seat["state"] == "ready" and seat["offline_since"] is None
        changes = store.load_seat_changes(conn, T0, back + timedelta(seconds=1))
    assert [c.state for c in changes] == ["ready", "link_down", "ready"]


def test_a_heartbeat_before_the_first_report_does_not_hide_it(engine: Engine) -> None:
    """The desk's heartbeat can reach the server before the seat change it made a moment
    earlier (the change waits in the outbox): that change still moves the seat; a report
    older than the newest report still does not."""
    with engine.begin() as conn:
        store.touch_seat(conn, "cai", now=T0 + timedelta(seconds=2))
        assert store.set_seat_state(conn, "cai", "ready", at=T0, now=T0, source="agent")
        seat = store.get_seat(conn, "cai")
        assert seat is not None and seat["state"] == "ready"
        store.set_seat_state(conn, "cai", "after_call", at=T0 + timedelta(seconds=30),
                             now=T0, source="agent")  # fmt: skip
        late = store.set_seat_state(conn, "cai", "ready", at=T0 + timedelta(seconds=10),
                                    now=T0, source="agent")  # fmt: skip
        seat = store.get_seat(conn, "cai")
    assert not late and seat is not None and seat["state"] == "after_call"


def test_desk_reported_calls_and_seat_appliers(engine: Engine) -> None:
    from hotline.protocol import ReportCallArgs, SetSeatStateArgs
    from hotline_server.live.appliers import apply_report_call, apply_set_seat_state
    from hotline_server.sync.registry import Rejected

    with engine.begin() as conn:
        apply_set_seat_state(conn, "amy", SetSeatStateArgs(state="ready", at=T0), T0)
        with pytest.raises(Rejected, match="server"):
            apply_set_seat_state(conn, "amy", SetSeatStateArgs(state="link_down", at=T0), T0)
        with pytest.raises(Rejected) as exc:
            apply_set_seat_state(conn, "amy", SetSeatStateArgs(state="break", at=T0), T0)
        assert exc.value.field == "reason"
        answered = ReportCallArgs(event="answered", call_id="1", caller_number="13800000009",
                                  at=T0 + timedelta(seconds=5))  # fmt: skip
        apply_report_call(conn, "amy", answered, T0)
        apply_report_call(conn, "amy", answered, T0)  # replayed: no second call
        ended = ReportCallArgs(event="ended", call_id="1", at=T0 + timedelta(seconds=65))
        apply_report_call(conn, "amy", ended, T0)
        seat = store.get_seat(conn, "amy")
        (call,) = store.load_call_records(conn, T0, T0 + timedelta(hours=1))
    assert seat is not None and seat["state"] == "after_call"
    assert call.queue == "desk" and call.caller_number == "13800000009"
    assert call.handle_seconds() == pytest.approx(60)


def _scenario(prefix: str, seed: int) -> list[CallEvent]:
    """Three calls at two agents' seats, every event type, shuffled (the phone system
    reports in any order), with a replayed event inside the batch."""
    rng = random.Random(seed)
    events: list[CallEvent] = []
    for n, agent in ((1, "ann"), (2, "ann"), (3, "ben")):
        call, base = f"{prefix}c{n}", 300.0 * n
        who = f"{prefix}{agent}"
        events += [
            ev(f"{call}-o", "offered", call, base, caller_number="13800000001", queue="general"),
            ev(f"{call}-s", "offered_to_seat", call, base + 2, agent=who),
            ev(f"{call}-a", "answered", call, base + 5, agent=who),
            ev(f"{call}-e", "ended", call, base + 100, agent=who, hold_seconds=7),
            ev(f"{call}-w", "after_call_ended", call, base + 140, agent=who),
        ]
    rng.shuffle(events)
    return [*events, events[rng.randrange(len(events))]]


def _state(engine: Engine, prefix: str) -> tuple[list[Any], list[Any], list[Any]]:
    """The calls, seats and seat history of one scenario, names without the prefix."""

    def plain(row: Any) -> dict[str, Any]:
        return {k: v.removeprefix(prefix) if isinstance(v, str) else v for k, v in row.items()}

    with engine.connect() as conn:
        calls = conn.execute(
            sa.select(live_calls).where(live_calls.c.call_id.startswith(prefix))
            .order_by(live_calls.c.call_id)
        ).mappings()  # fmt: skip
        seats = conn.execute(
            sa.select(live_seats).where(live_seats.c.agent.startswith(prefix))
            .order_by(live_seats.c.agent)
        ).mappings()  # fmt: skip
        history = conn.execute(
            sa.select(live_seat_changes).where(live_seat_changes.c.agent.startswith(prefix))
            .order_by(live_seat_changes.c.id)
        ).mappings()  # fmt: skip
        return (
            [plain(r) for r in calls],
            [plain(r) for r in seats],
            [{k: v for k, v in plain(r).items() if k != "id"} for r in history],
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_applies_as_its_events_one_by_one(engine: Engine, seed: int) -> None:
    """``record_call_events`` merges a batch in memory and writes each row once: the
    outcomes, calls, seats and seat history must be those of the same events applied one
    at a time in the same order; a batch sent again is all duplicates and changes nothing."""
    one = _scenario("s-", seed)
    with engine.begin() as conn:
        store.set_seat_state(conn, "s-ben", "ready", at=T0, now=T0, source="agent")
        store.set_seat_state(conn, "b-ben", "ready", at=T0, now=T0, source="agent")
    singles = [apply(engine, e)[0] for e in one]
    eff = store.Effects()
    batch = _scenario("b-", seed)
    with engine.begin() as conn:
        outcomes = store.record_call_events(conn, batch, now=T0, source="telephony", effects=eff)
    assert [r.outcome for r in outcomes] == singles
    assert singles[-1] == "duplicate" and singles.count("applied") == 15
    assert _state(engine, "b-") == _state(engine, "s-")
    assert [(a.removeprefix("b-"), c.removeprefix("b-")) for a, c in eff.offers] == [
        (e.agent.removeprefix("s-"), e.call_id.removeprefix("s-"))
        for e in one[:-1]
        if e.type == "offered_to_seat" and e.agent
    ]
    before = _state(engine, "b-")
    with engine.begin() as conn:
        again = store.record_call_events(
            conn, batch, now=T0, source="telephony", effects=store.Effects()
        )
    assert {r.outcome for r in again} == {"duplicate"}
    assert _state(engine, "b-") == before
