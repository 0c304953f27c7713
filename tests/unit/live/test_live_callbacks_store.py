"""Callback list and server-ended calls in the database (SQLite and PostgreSQL), with a
scripted clock: every expected value is worked out by hand in the comments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline import metrics as M
from hotline.callbacks import MAX_ATTEMPTS, CallbackOutcome, CallbackRefused
from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.live import callbacks, store
from hotline_server.live.schema import live_callbacks, live_calls, metadata
from hotline_server.live.wire import CallEvent

T0 = datetime(2026, 3, 16, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


def ev(eid: str, type_: str, call: str, sec: float, **kw: object) -> CallEvent:
    return CallEvent.model_validate(
        {"event_id": eid, "type": type_, "call_id": call, "at": T0 + timedelta(seconds=sec), **kw}
    )


def apply(engine: Engine, *events: CallEvent, now_sec: float = 0) -> None:
    with engine.begin() as conn:
        store.record_call_events(
            conn,
            list(events),
            now=T0 + timedelta(seconds=now_sec),
            source="telephony",
            effects=store.Effects(),
        )


def entries(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(live_callbacks).order_by(live_callbacks.c.first_missed_at))
        return [dict(r) for r in rows.mappings()]


def call(engine: Engine, call_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(live_calls).where(live_calls.c.call_id == call_id))
        return dict(row.mappings().one())


def test_the_migration_makes_what_schema_py_declares(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    mine = ("live_callbacks", "live_callback_attempts", "expired_at", "end_reason")
    assert [d for d in diffs if any(name in repr(d) for name in mine)] == []


def test_repeat_misses_make_one_entry_and_a_late_older_miss_moves_its_start(
    engine: Engine,
) -> None:
    n = "13800001234"
    # a1 waits 30 s and hangs up at 30; a2 waits 70 s (100 -> 170); ended-without-answer a3
    # (an abandon as far as anyone knows) 300 -> 305; then an older miss a0 (-50 -> -40)
    # arrives late
    apply(engine, ev("1", "offered", "a1", 0, caller_number=n), ev("2", "abandoned", "a1", 30))
    apply(engine, ev("3", "offered", "a2", 100, caller_number=n), ev("4", "abandoned", "a2", 170))
    apply(engine, ev("5", "offered", "a3", 300, caller_number=n), ev("6", "ended", "a3", 305))
    apply(engine, ev("7", "offered", "a0", -50, caller_number=n), ev("8", "abandoned", "a0", -40))
    apply(engine, ev("8", "abandoned", "a0", -40))  # a replay changes nothing
    [e] = entries(engine)
    assert (e["missed_calls"], e["first_call_id"], e["last_call_id"]) == (4, "a0", "a3")
    assert e["first_missed_at"] == T0 - timedelta(seconds=40)
    assert e["last_missed_at"] == T0 + timedelta(seconds=305)
    assert (e["last_wait_seconds"], e["longest_wait_seconds"]) == (5, 70)
    assert (e["status"], e["open_number"], e["reason"]) == ("open", n, "abandoned")


def test_answered_later_closes_an_open_entry_but_not_a_claimed_one(engine: Engine) -> None:
    a, b = "13800000001", "13800000002"
    apply(engine, ev("1", "offered", "x1", 0, caller_number=a), ev("2", "abandoned", "x1", 10))
    apply(engine, ev("3", "offered", "y1", 0, caller_number=b), ev("4", "abandoned", "y1", 10))
    with engine.begin() as conn:
        yb = next(e for e in entries(engine) if e["caller_number"] == b)
        callbacks.claim(conn, yb["id"], "amy", now=T0 + timedelta(seconds=20))
    # both call again and get through
    apply(engine, ev("5", "offered", "x2", 60, caller_number=a), ev("6", "answered", "x2", 65))
    apply(engine, ev("7", "offered", "y2", 60, caller_number=b), ev("8", "answered", "y2", 65))
    got = {e["caller_number"]: e for e in entries(engine)}
    assert (got[a]["status"], got[a]["outcome"], got[a]["done_by"]) == (
        "done", "called_again", "system",
    )  # fmt: skip
    assert got[a]["open_number"] is None
    assert (got[b]["status"], got[b]["claimed_by"]) == ("claimed", "amy")  # amy's to finish


def test_outcomes_attempts_and_refusals(engine: Engine) -> None:
    n = "13800000003"
    apply(engine, ev("1", "offered", "z1", 0, caller_number=n), ev("2", "abandoned", "z1", 8))
    [e] = entries(engine)
    at = T0 + timedelta(minutes=5)
    with engine.begin() as conn:
        callbacks.claim(conn, e["id"], "amy", now=at)
        with pytest.raises(CallbackRefused) as taken:
            callbacks.claim(conn, e["id"], "bob", now=at)
        assert (taken.value.status, taken.value.field) == (409, "id") and "amy" in str(taken.value)
        for i in range(MAX_ATTEMPTS - 1):
            row = callbacks.record_outcome(conn, e["id"], "amy", CallbackOutcome.BUSY, None, now=at)
            assert (row["status"], row["attempts"]) == ("open", i + 1)
        # the last allowed attempt closes it, whatever its outcome
        row = callbacks.record_outcome(conn, e["id"], "bob", CallbackOutcome.NO_ANSWER, "x", now=at)
        assert (row["status"], row["attempts"], row["done_by"]) == ("done", MAX_ATTEMPTS, "bob")
        with pytest.raises(CallbackRefused, match="done"):
            callbacks.claim(conn, e["id"], "amy", now=at)
        with pytest.raises(CallbackRefused) as gone:
            callbacks.claim(conn, "nope", "amy", now=at)
        assert gone.value.status == 404
        history = callbacks.attempts_of(conn, e["id"])
    assert [(h["agent"], h["outcome"], h["call_id"]) for h in history] == [
        ("amy", "busy", "z1"), ("amy", "busy", "z1"), ("bob", "no_answer", "z1"),
    ]  # fmt: skip
    # the number misses again: a new entry (the closed one keeps its history)
    apply(engine, ev("3", "offered", "z2", 900, caller_number=n), ev("4", "abandoned", "z2", 905))
    assert [x["status"] for x in entries(engine)] == ["done", "open"]


def test_phantom_calls_expire_and_a_sign_out_ends_the_seats_calls(engine: Engine) -> None:
    # q1 queued at 0 and never heard of again; q2 rang bob at 0, then offered... last event
    # 30: both expire one hour after their last event. q3 is 10 minutes old: still waiting.
    apply(
        engine,
        ev("1", "offered", "q1", 0, caller_number="13800000011"),
        ev("2", "offered", "q2", 0, caller_number="13800000012"),
        ev("3", "offered_to_seat", "q2", 30, agent="bob"),
        ev("4", "offered", "q3", 3000, caller_number="13800000013"),
    )
    now = T0 + timedelta(seconds=3600 + 600)
    with engine.begin() as conn:
        expired = callbacks.expire_stale_calls(conn, now=now, timeout=HOUR)
        assert callbacks.expire_stale_calls(conn, now=now, timeout=HOUR) == []  # once only
    assert expired == ["q1", "q2"]
    assert call(engine, "q1")["expired_at"] == T0 + HOUR
    assert call(engine, "q2")["expired_at"] == T0 + HOUR + timedelta(seconds=30)
    assert call(engine, "q2")["end_reason"] == "timeout"
    assert call(engine, "q3")["expired_at"] is None
    got = [(e["caller_number"], e["reason"], e["longest_wait_seconds"]) for e in entries(engine)]
    assert got == [("13800000011", "expired", 3600), ("13800000012", "expired", 3630)]
    # a late event from the phone system wins over the expiry: q1 was answered after all
    apply(engine, ev("5", "answered", "q1", 20, agent="amy"))
    assert entries(engine)[0]["outcome"] == "called_again"

    # amy holds s1 (answered, no end) and s2 rings at her seat; s3 is answered after her
    # sign-out (a late report must not end it)
    apply(
        engine,
        ev("6", "offered", "s1", 100, caller_number="13800000021"),
        ev("7", "answered", "s1", 110, agent="amy"),
        ev("8", "offered", "s2", 150, caller_number="13800000022"),
        ev("9", "offered_to_seat", "s2", 160, agent="amy"),
        ev("10", "offered", "s3", 400, caller_number="13800000023"),
        ev("11", "answered", "s3", 410, agent="amy"),
    )
    out = T0 + timedelta(seconds=200)
    with engine.begin() as conn:
        store.set_seat_state(conn, "amy", "signed_out", at=out, now=now, source="agent")
    s1, s2, s3 = call(engine, "s1"), call(engine, "s2"), call(engine, "s3")
    assert (s1["ended_at"], s1["end_reason"]) == (out, "seat_signed_out")
    assert (s2["expired_at"], s2["end_reason"]) == (out, "seat_signed_out")
    assert (s3["ended_at"], s3["expired_at"]) == (None, None)
    numbers = {e["caller_number"]: e for e in entries(engine)}
    assert numbers["13800000022"]["longest_wait_seconds"] == 50  # 150 -> 200
    assert "13800000021" not in numbers  # answered: nobody to call back

    # the figures of the hour from T0: offered q1 q2 q3 s1 s2 s3 = 6; answered q1 s1 s3 = 3;
    # expired q2 s2 = 2; abandoned 0; waits over: q1 20, q2 3630, s1 10, s2 50, s3 10
    with engine.connect() as conn:
        recs = store.load_call_records(conn, T0, T0 + HOUR)
    m = M.call_measures(recs, T0, T0 + HOUR)
    assert (m.offered, m.answered, m.expired, m.abandoned) == (6, 3, 2, 0)
    assert m.answer_rate == pytest.approx(3 / 6)
    assert m.longest_wait == pytest.approx(3630)
    assert M.queue_now(recs, now).calls_waiting == 1  # q3 only


def test_callback_and_seat_figures_by_hand() -> None:
    day0 = datetime(2026, 3, 16, 0, 0, tzinfo=UTC)
    day1 = day0 + timedelta(days=1)

    def h(x: float) -> datetime:
        return day0 + timedelta(hours=x)

    cbs = [
        M.CallbackRecord("old", h(-3), done_at=h(-1), outcome="reached"),  # done before: no
        M.CallbackRecord("carried", h(-2), done_at=h(9), outcome="reached"),  # due, done
        M.CallbackRecord("open", h(-2)),  # due, still open
        M.CallbackRecord("today", h(10), done_at=h(11), outcome="wrong_number"),  # due, done
        M.CallbackRecord("late", h(23), done_at=h(25), outcome="reached"),  # due, done tomorrow
        M.CallbackRecord("tomorrow", h(26)),  # not due today
    ]
    m = M.callback_measures(cbs, day0, day1)
    assert (m.due, m.done, m.reached, m.open_now) == (4, 2, 1, 2)
    changes = [
        M.SeatChange("amy", "ready", h(-1)),  # signed in since yesterday: staffed
        M.SeatChange("amy", "signed_out", h(8)),
        M.SeatChange("bob", "signed_out", h(-5)),  # never in today
        M.SeatChange("cat", "break", h(12)),  # a break is signed in
        M.SeatChange("dan", "link_down", h(13)),  # link down only: not staffed
    ]
    assert M.seats_staffed(changes, day0, day1) == 2
    calls = [
        M.CallRecord("a", h(9), answered_at=h(9) + timedelta(seconds=20)),
        M.CallRecord("b", h(9), expired_at=h(10)),  # waited 3600, expired, not abandoned
        M.CallRecord("c", h(9), abandoned_at=h(9) + timedelta(seconds=3)),  # short abandon
        M.CallRecord("d", h(23.5)),  # still waiting at the day's end: not in longest_wait
    ]
    cm = M.call_measures(calls, day0, day1)
    assert (cm.offered, cm.answered, cm.abandoned, cm.short_abandoned, cm.expired) == (
        4, 1, 1, 1, 1,
    )  # fmt: skip
    assert cm.answer_rate == pytest.approx(1 / 4) and cm.abandonment_rate == pytest.approx(1 / 4)
    assert cm.longest_wait == pytest.approx(3600)
    rows = M.daily_report(
        calls, changes, [], first=day0.date(), last=day0.date(), tz=UTC, callbacks=cbs
    )
    day = rows[0]
    assert (day["callbacks_due"], day["callbacks_done"], day["seats_staffed"]) == (4, 2, 2)
    assert (day["longest_wait"], day["expired"]) == (3600, 1)
