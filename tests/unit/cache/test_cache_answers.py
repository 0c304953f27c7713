"""Recording a push answer: one answer for a whole batch (created tickets take the server's
number, notes stop being pending, a refusal and a lost field are kept aside, the rest goes to
the sent log) -- all of it, or none of it, in one transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotline.protocol import MutationOutcome, MutationResult, PushResponse
from offline_cache import CacheStore, SaveFailed, open_cache
from tests.unit.cache.test_cache_store import T0, Clock, new_ticket


@pytest.fixture
def store() -> Iterator[CacheStore]:
    s = open_cache("test", clock=Clock(T0))
    s.set_identity("alice", "east", "agent")
    yield s
    s.close()


def created(mid: int, tid: str, number: str, outcome: MutationOutcome) -> MutationResult:
    return MutationResult(
        mutation_id=mid, outcome=outcome, ticket_id=tid, ticket_number=number, revision=1
    )


def mixed_batch(store: CacheStore) -> tuple[list[str], PushResponse]:
    a = new_ticket(store, address="浦东新区世纪大道100号")  # 1
    b = new_ticket(store, address="徐汇区漕溪北路1号")  # 2
    c = new_ticket(store, address="长宁区天山路5号")  # 3
    store.add_note(a, "已联系")  # 4
    store.change_status(b, "evaluated")  # 5: refused
    store.update_ticket(c, {"caller_name": "赵六"})  # 6: applied, but the field was lost
    store.add_note(c, "再打一次")  # 7: beyond the answer: stays in the outbox
    answer = PushResponse(
        last_mutation_id=6,
        results=[
            created(1, a, "20261124-000001", MutationOutcome.APPLIED),
            created(2, b, "20261124-000002", MutationOutcome.APPLIED),
            created(3, c, "20261124-000003", MutationOutcome.DUPLICATE),  # sent before
            MutationResult(mutation_id=4, outcome=MutationOutcome.APPLIED, revision=2),
            MutationResult(
                mutation_id=5,
                outcome=MutationOutcome.REJECTED,
                reason="不能从受理直接到评价",
                field="args.to",
            ),
            MutationResult(
                mutation_id=6,
                outcome=MutationOutcome.APPLIED,
                revision=2,
                reason="caller_name: replaced by bob",
                field="changes.caller_name",
                conflict={"caller_name": {"mine": "赵六", "theirs": "赵老六", "kept": "theirs"}},
            ),
        ],
    )
    return [a, b, c], answer


def test_one_answer_records_every_mutation_of_its_batch(store: CacheStore) -> None:
    (a, b, c), answer = mixed_batch(store)
    assert store.apply_push_result(answer) == 6
    numbers = [store.get_ticket(t).display_number for t in (a, b, c)]  # type: ignore[union-attr]
    assert numbers == ["20261124-000001", "20261124-000002", "20261124-000003"]
    assert [r.id for r in store.search("20261124-00000")] == [c, b, a]
    assert [(t.id, t.pending) for t in (store.get_ticket(x) for x in (a, b, c)) if t] == [
        (a, 0),
        (b, 0),
        (c, 1),
    ]
    assert [n.pending for n in store.notes(a)] == [False]
    assert [n.pending for n in store.notes(c)] == [True]
    assert [m.mutation_id for m in store.pending_mutations()] == [7]
    kept = {(x.mutation_id, x.kind) for x in store.needs_attention()}
    assert kept == {(5, "rejected"), (6, "conflict")}
    meta = store.sync_meta()
    assert meta.last_acked_mutation_id == 6 and meta.next_mutation_id == 8
    # the sent log holds what the server took (not the refusal): a restored server gets
    # exactly those again
    assert store.server_forgot(0) == 5
    assert [m.mutation_id for m in store.pending_mutations()] == [1, 2, 3, 4, 6, 7]


def test_an_answer_that_cannot_be_recorded_changes_nothing(store: CacheStore) -> None:
    (a, _b, _c), answer = mixed_batch(store)
    store._conn.execute(  # the disk fills up half-way through recording the answer
        "CREATE TRIGGER fail_half_way BEFORE UPDATE OF number ON tickets"
        " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    with pytest.raises(SaveFailed):
        store.apply_push_result(answer)
    assert [m.mutation_id for m in store.pending_mutations()] == [1, 2, 3, 4, 5, 6, 7]
    assert store.needs_attention() == []
    ticket = store.get_ticket(a)
    assert ticket is not None and ticket.data["number"] is None and ticket.pending == 2
    assert [n.pending for n in store.notes(a)] == [True]
    assert store.sync_meta().last_acked_mutation_id == 0
