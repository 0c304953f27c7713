"""Live-side database work against real SQLite and PostgreSQL (tables created directly)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.live import store
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
