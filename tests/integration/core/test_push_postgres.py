"""A push on PostgreSQL: what one batch asks of the database.

In-process on a real PostgreSQL database (the server's own engine, migrated): the statements
a batch runs are counted on the connection (SQLAlchemy's ``before_cursor_execute``) and do
not grow with the batch; the batch's ticket ids are looked up by the primary key however
little the planner knows of the table; a bad mutation in the middle is answered alone while
the others are stored; a replayed batch gets its first answers again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline.ids import uuid7
from hotline.model import Role
from hotline.protocol import MutationOutcome, PushRequest
from hotline_server.auth import User, token_hash, user_for_token
from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.db.schema import change_log, sync_results, tickets, tokens, users
from hotline_server.sync.appliers import register_core
from hotline_server.sync.push import PushOutcome, push
from hotline_server.tickets import _ROWS_BY_ID_ARRAY
from tests.support.mutations import create_ticket

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
AMY = User("amy", Role.AGENT, None, None)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    register_core()
    with engine.begin() as conn:  # no statistics while the test runs: as in a new database
        conn.exec_driver_sql("ALTER TABLE tickets SET (autovacuum_enabled = false)")
    try:
        yield engine
    finally:
        engine.dispose()


def ticket(mid: int, phone: str = "13800138000") -> dict[str, Any]:
    return create_ticket(mid, NOW, phone)


def counted(
    engine: Engine, client_id: str, mutations: list[dict[str, Any]]
) -> tuple[PushOutcome, Counter[str]]:
    """Push ``mutations`` and count the statements the batch runs, by their first words."""
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        if words[0] in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            seen[words[0]] += 1
        else:
            seen[" ".join(words[:3] if words[0] in ("INSERT", "COPY") else words[:2])] += 1
        for table in ("seq_counter", "sync_clients"):  # anywhere in it (a CTE too)
            if f"UPDATE {table}" in statement:
                seen[f"updates {table}"] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        request = PushRequest.model_validate({"client_id": client_id, "mutations": mutations})
        outcome = push(engine, AMY, request, NOW, timezone="Asia/Shanghai")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return outcome, seen


def test_statements_per_batch_do_not_grow_with_the_batch(engine: Engine) -> None:
    outcome10, seen10 = counted(engine, uuid7(), [ticket(i) for i in range(1, 11)])
    outcome100, seen100 = counted(engine, uuid7(), [ticket(i) for i in range(1, 101)])
    assert all(r.outcome == MutationOutcome.APPLIED for r in outcome10.response.results)
    assert all(r.outcome == MutationOutcome.APPLIED for r in outcome100.response.results)
    assert seen100 == seen10
    # the client's row with the counter's lock, the batch's ids, its day numbers, and the
    # counter's bump with the client's advance; the bulk rows go by COPY, not counted here
    assert sum(n for k, n in seen100.items() if not k.startswith("updates")) == 4
    assert seen100["WITH claimed"] == 1 and "SELECT seq_counter.value" not in seen100
    assert not any(k.startswith(("SAVEPOINT", "RELEASE")) for k in seen100)
    assert seen100["updates seq_counter"] == 1  # one change-log counter bump per batch
    assert seen100["updates sync_clients"] == 1  # ... and in the same statement:
    assert seen100["WITH advanced"] == 1 and "UPDATE sync_clients" not in seen100
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar() == 110
        seqs = list(conn.execute(sa.select(change_log.c.seq).order_by(change_log.c.seq)).scalars())
    assert seqs == list(range(1, 111))


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_batch_looks_its_ids_up_by_the_primary_key_on_a_table_without_statistics(
    engine: Engine,
) -> None:
    cid = uuid7()
    for start in range(1, 2001, 250):  # 2,000 tickets, never analyzed
        outcome, _ = counted(engine, cid, [ticket(i) for i in range(start, start + 250)])
        assert all(r.outcome == MutationOutcome.APPLIED for r in outcome.response.results)
    ids = [uuid7() for _ in range(100)]
    sql = str(_ROWS_BY_ID_ARRAY.compile(dialect=engine.dialect))
    with engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT reltuples < 0 FROM pg_class WHERE relname = 'tickets'"
        ).scalar()  # the planner has no statistics: it guesses the table's size
        # the plan a prepared statement settles on (psycopg prepares it at its second run)
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql,
                                    {"ids": ids, "param_1": 1}).scalar()  # fmt: skip
    nodes = list(_plan_nodes((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]))
    on_tickets = [n["Node Type"] for n in nodes if n.get("Relation Name") == "tickets"]
    assert on_tickets == ["Index Scan"]  # one lookup per id, never a pass over every ticket


def test_a_bad_mutation_in_the_middle_is_answered_alone_and_a_replay_gets_the_same_answers(
    engine: Engine,
) -> None:
    cid = uuid7()
    batch = [ticket(i) for i in range(1, 6)]
    batch[2] = ticket(3, phone="12")  # refused before anything is written
    update_missing = {"mutation_id": 6, "name": "update_ticket", "client_time": NOW.isoformat(),
                      "args": {"ticket_id": uuid7(), "base_revision": 1,
                               "changes": {"address": "漕溪北路1号"}}}  # fmt: skip
    batch.append(update_missing)  # refused by its applier, in its own SAVEPOINT
    batch.append(ticket(7))
    first, seen = counted(engine, cid, batch)
    applied, rejected = MutationOutcome.APPLIED, MutationOutcome.REJECTED
    outcomes = [r.outcome for r in first.response.results]
    assert outcomes == [applied, applied, rejected, applied, applied, rejected, applied]
    assert first.response.results[2].field == "args.phone"
    assert first.response.results[5].field == "args.ticket_id"
    assert seen["SAVEPOINT"] == 1  # the update's own: the creates took none
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar() == 5
        seqs = list(conn.execute(sa.select(change_log.c.seq).order_by(change_log.c.seq)).scalars())
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_results)).scalar() == 7
    assert seqs == [1, 2, 3, 4, 5]

    again, _ = counted(engine, cid, batch)
    assert [r.outcome for r in again.response.results] == [MutationOutcome.DUPLICATE] * 7
    for before, now in zip(first.response.results, again.response.results, strict=True):
        assert now.model_dump(exclude={"outcome"}) == before.model_dump(exclude={"outcome"})
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar() == 5


def test_a_requests_token_read_holds_no_transaction_and_leaves_none_behind(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(users.insert(), {"username": "amy", "password_hash": "x", "role": "agent",
                                      "created_at": NOW})  # fmt: skip
        later = NOW + timedelta(hours=1)
        conn.execute(tokens.insert(), {"token_hash": token_hash("t0ken"), "username": "amy",
                                       "created_at": NOW, "expires_at": later})  # fmt: skip
    states: list[str] = []

    def status(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "tokens" in statement:
            states.append(cursor.connection.info.transaction_status.name)

    sa.event.listen(engine, "after_cursor_execute", status)
    try:
        user = user_for_token(engine, "t0ken", NOW)
        assert user is not None and user.username == "amy"
        assert user_for_token(engine, "wrong", NOW) is None
    finally:
        sa.event.remove(engine, "after_cursor_execute", status)
    # IDLE: the read ran on its own, no BEGIN sent before it and no ROLLBACK owed after it
    assert states == ["IDLE", "IDLE"]
    # the connection goes back to the pool transactional: a push after it is one transaction
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        assert conn.connection.driver_connection.info.transaction_status.name == "INTRANS"


def test_a_batch_with_nothing_applied_still_moves_the_client_on(engine: Engine) -> None:
    cid = uuid7()
    batch = [ticket(1, phone="12"), ticket(2, phone="34")]  # no change-log row to write
    first, seen = counted(engine, cid, batch)
    assert [r.outcome for r in first.response.results] == [MutationOutcome.REJECTED] * 2
    assert first.response.last_mutation_id == 2
    assert seen["UPDATE sync_clients"] == 1 and seen["updates seq_counter"] == 0
    again, _ = counted(engine, cid, [*batch, ticket(3)])
    outcomes = [r.outcome for r in again.response.results]
    assert outcomes == [MutationOutcome.DUPLICATE] * 2 + [MutationOutcome.APPLIED]
    assert again.response.results[0].field == "args.phone"  # the first answer, again


def test_a_push_locks_its_client_then_the_counter_and_numbers_after_the_counters_last_writer(
    engine: Engine,
) -> None:
    """The client's row and the counter are locked by one statement: the client's row
    first (the order every writer keeps), and the counter read as its last writer left it
    when that writer commits while the push waits for it."""
    import psycopg

    cid = uuid7()
    counted(engine, cid, [ticket(1)])  # the client exists; change-log seq 1
    holder = engine.connect()
    held = holder.begin()
    # another writer holds the counter and moves it (seq 2) while the push waits for it
    seq = holder.execute(sa.text("UPDATE seq_counter SET value = value + 1 RETURNING value"))
    other_seq = seq.scalar_one()
    holder.execute(change_log.insert(), {"seq": other_seq, "entity": "ticket", "entity_id": "x",
                                         "op": "upsert", "data": {}, "team": None,
                                         "owner": None, "server_time": NOW})  # fmt: skip
    done: dict[str, Any] = {}

    def second_push() -> None:
        try:
            done["outcome"], _ = counted(engine, cid, [ticket(1), ticket(2), ticket(3)])
        except BaseException as exc:  # reported below
            done["error"] = exc

    import threading

    thread = threading.Thread(target=second_push)
    thread.start()
    try:
        waiting = False
        with engine.connect() as probe:
            for _ in range(200):  # until the push waits for the counter (at most ~10 s)
                waiting = bool(probe.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND starts_with(query, 'WITH claimed')").scalar())  # fmt: skip
                if waiting:
                    break
                probe.rollback()
                thread.join(0.05)
            assert waiting, "the push did not wait for the counter"
            # by then the push holds its client's row: taken before the counter
            with pytest.raises(sa.exc.OperationalError) as caught:
                probe.exec_driver_sql(
                    "SELECT 1 FROM sync_clients WHERE client_id = %(c)s FOR UPDATE NOWAIT",
                    {"c": cid},
                )
            assert isinstance(caught.value.orig, psycopg.errors.LockNotAvailable)
    finally:
        held.commit()
        holder.close()
        thread.join(30)
    assert not thread.is_alive() and "error" not in done, done.get("error")
    results = done["outcome"].response.results
    assert [r.outcome for r in results] == [MutationOutcome.DUPLICATE] + [
        MutationOutcome.APPLIED
    ] * 2
    with engine.connect() as conn:
        seqs = list(conn.execute(sa.select(change_log.c.seq).order_by(change_log.c.seq)).scalars())
    assert other_seq == 2 and seqs == [1, 2, 3, 4]  # after the other writer's, no gap
