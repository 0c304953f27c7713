"""What a push batch costs the database: one statement per table, one counter bump.

Counted on the connection (SQLAlchemy's ``before_cursor_execute``), for a clean batch and for
a batch with bad mutations among good ones (which is applied again one mutation per SAVEPOINT).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline.ids import uuid7
from hotline.model import Role
from hotline.protocol import MutationOutcome, PushRequest
from hotline_server import changelog
from hotline_server.auth import User
from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.db.schema import change_log
from hotline_server.sync.appliers import register_core
from hotline_server.sync.push import push
from tests.support.mutations import create_ticket

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
AMY = User("amy", Role.AGENT, None, None)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    upgrade(engine)
    register_core()
    try:
        yield engine
    finally:
        engine.dispose()


def ticket(mid: int, phone: str = "13800138000") -> dict[str, Any]:
    return create_ticket(mid, NOW, phone)


def counted(engine: Engine, mutations: list[dict[str, Any]]) -> tuple[Any, Counter[str]]:
    """Push ``mutations`` and count the statements by kind."""
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        if words[0] in ("INSERT", "UPDATE"):
            seen[f"{words[0]} {words[2 if words[0] == 'INSERT' else 1]}"] += 1
        elif words[0] in ("SAVEPOINT", "ROLLBACK", "RELEASE"):
            seen[words[0]] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        request = PushRequest.model_validate({"client_id": uuid7(), "mutations": mutations})
        outcome = push(engine, AMY, request, NOW, timezone="Asia/Shanghai",
                       teams_configured=False)  # fmt: skip
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return outcome, seen


def change_seqs(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(s) for s in conn.execute(sa.select(change_log.c.seq).order_by("seq")).scalars()]


def counter(engine: Engine) -> int:
    with engine.connect() as conn:
        return changelog.current_seq(conn)


def test_a_clean_batch_is_one_statement_per_table_and_no_savepoint(engine: Engine) -> None:
    outcome, seen = counted(engine, [ticket(i) for i in range(1, 51)])
    assert [r.outcome for r in outcome.response.results] == [MutationOutcome.APPLIED] * 50
    assert seen["UPDATE seq_counter"] == 1  # the change-log counter advanced once
    assert seen["INSERT tickets"] == 1
    assert seen["INSERT ticket_history"] == 1
    assert seen["INSERT change_log"] == 1
    assert seen["INSERT sync_results"] == 1
    assert seen["INSERT ticket_numbers"] == 1
    assert seen["SAVEPOINT"] == 0
    assert change_seqs(engine) == list(range(1, 51)) and counter(engine) == 50
    assert outcome.last_seq == 50
    numbers = [r.ticket_number for r in outcome.response.results]
    assert numbers == [f"20261202-{i:06d}" for i in range(1, 51)]


def test_bad_mutations_among_good_ones_are_answered_alone(engine: Engine) -> None:
    escalate_missing = {"mutation_id": 3, "name": "escalate", "client_time": NOW.isoformat(),
                        "args": {"ticket_id": uuid7(), "reason": "市民再次来电"}}  # fmt: skip
    batch = [ticket(1), ticket(2), escalate_missing, ticket(4, phone="12"), ticket(5)]
    outcome, seen = counted(engine, batch)
    results = outcome.response.results
    assert [r.outcome for r in results] == [
        MutationOutcome.APPLIED, MutationOutcome.APPLIED, MutationOutcome.REJECTED,
        MutationOutcome.REJECTED, MutationOutcome.APPLIED]  # fmt: skip
    assert results[2].field == "args.ticket_id" and "no ticket" in (results[2].reason or "")
    assert results[3].field == "args.phone"
    assert outcome.response.last_mutation_id == 5
    # the escalation (no batch applier) ran alone in its SAVEPOINT and was refused; the runs
    # of creates around it took none; still one counter bump for what was kept
    assert seen["SAVEPOINT"] == 1
    assert seen["UPDATE seq_counter"] == 1
    assert change_seqs(engine) == [1, 2, 3] and counter(engine) == 3
    numbers = [r.ticket_number for r in results if r.outcome == MutationOutcome.APPLIED]
    assert numbers == ["20261202-000001", "20261202-000002", "20261202-000003"]


def test_a_batch_applier_that_raises_sends_the_batch_one_by_one(engine: Engine) -> None:
    first = ticket(1)
    batch = [first, ticket(2), {**ticket(3), "args": first["args"]}]  # one ticket id twice
    outcome, seen = counted(engine, batch)
    results = outcome.response.results
    assert [r.outcome for r in results] == [MutationOutcome.APPLIED] * 3
    assert results[0].ticket_number == results[2].ticket_number  # a repeat: the same ticket
    assert seen["SAVEPOINT"] == 3  # applied again, one mutation per SAVEPOINT
    assert seen["UPDATE seq_counter"] == 1
    assert change_seqs(engine) == [1, 2] and counter(engine) == 2


def test_the_same_batch_again_is_all_duplicates_and_writes_no_change(engine: Engine) -> None:
    batch = [ticket(1), ticket(2, phone="12"), ticket(3)]
    cid = uuid7()
    first = push(engine, AMY, PushRequest.model_validate({"client_id": cid, "mutations": batch}),
                 NOW, timezone="Asia/Shanghai", teams_configured=False)  # fmt: skip
    again = push(engine, AMY, PushRequest.model_validate({"client_id": cid, "mutations": batch}),
                 NOW, timezone="Asia/Shanghai", teams_configured=False)  # fmt: skip
    assert [r.outcome for r in again.response.results] == [MutationOutcome.DUPLICATE] * 3
    for a, b in zip(first.response.results, again.response.results, strict=True):
        assert (a.ticket_number, a.reason, a.field) == (b.ticket_number, b.reason, b.field)
    assert again.last_seq is None
    assert change_seqs(engine) == [1, 2]
