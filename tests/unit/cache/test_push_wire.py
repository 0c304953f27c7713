"""The push body the replicator sends is built from the outbox's stored JSON, not from
pydantic models: it must be the very bytes the models gave (helper "server" and every
server in the field read this wire format), cut to the same size budget."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hotline.protocol import MAX_PUSH_BODY_BYTES, PushRequest, fit_push_batch
from offline_cache import CacheStore, open_cache
from offline_cache.replicator import _encode_batch

FULL = {"caller_name": "张" * 50, "address": "路" * 200, "account": "诉" * 4000,
        "answer": "答" * 4000, "promise": "诺" * 500, "extra": {"note": "备" * 5000}}  # fmt: skip


class Clock:
    """A settable clock: each save is made at the time the test sets."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, 0, 250_000, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[CacheStore]:
    s = open_cache("wire", clock=clock)
    s.set_identity("alice", "east", "agent")
    yield s
    s.close()


def _models_body(store: CacheStore, limit: int, after: int = 0) -> bytes:
    """What the replicator sent before: the models, cut by fit_push_batch, dumped, and
    encoded as httpx encodes ``json=``."""
    cid = store.client_id
    batch = fit_push_batch(cid, store.pending_mutations(limit=limit, after=after))
    body = PushRequest(client_id=cid, mutations=batch).model_dump(mode="json")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _fields(i: int, **extra: object) -> dict[str, object]:
    return {"caller_name": f"市民{i}", "phone": f"1380013{i:04d}",
            "address": f"黄浦区人民路{i}号 \"东\"\\门", "district": "黄浦区", "kind": "help",
            "category": "water", "account": f"第{i}号：停水\n\t两天", **extra}  # fmt: skip


def test_every_kind_of_mutation_goes_out_as_the_models_wrote_it(
    store: CacheStore, clock: Clock
) -> None:
    t0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    tid = str(store.create_ticket(_fields(1), call_started_at=t0).ticket_id)
    clock.now = datetime(2026, 12, 7, 9, 0, 1, tzinfo=UTC)  # a whole second
    store.add_note(tid, "备注：\u2028换行与 emoji 🙂")
    clock.now = datetime(2026, 12, 7, 9, 0, 1, 7, tzinfo=UTC)
    store.update_ticket(tid, {"caller_name": "李四", "extra": {"n": 1.5, "list": [1, None]}})
    store.change_status(tid, "dispatched")
    other = str(store.create_ticket(_fields(2), call_started_at=t0).ticket_id)
    store.escalate(other, "需要主管")
    rows = store.pending_wire(limit=100)
    assert [mid for mid, _ in rows] == list(range(1, 7))
    times = [json.loads(text)["client_time"] for _, text in rows]
    assert times[1] == "2026-12-07T09:00:01Z"  # a whole second, written as pydantic does
    assert times[2] == "2026-12-07T09:00:01.000007Z"
    batch = _encode_batch(store.client_id, rows)
    assert batch is not None
    assert batch.body == _models_body(store, 100)
    assert (batch.first, batch.last, batch.count) == (1, 6, 6)
    # the next batch after a given mutation, as the pipeline reads it
    later = _encode_batch(store.client_id, store.pending_wire(limit=2, after=3))
    assert later is not None and later.body == _models_body(store, 2, after=3)
    assert (later.first, later.last) == (4, 5)


def test_a_row_in_another_form_goes_through_the_models(store: CacheStore) -> None:
    """A client time stored in another form (an older desk's, say) is not copied as it is:
    the row is read through the models, as before, and gives the same bytes."""
    store.create_ticket(_fields(3), call_started_at=datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    with store._lock:
        store._conn.execute("UPDATE outbox SET client_time = '2026-12-07T09:00:01+08:00'")
    [(mid, text)] = store.pending_wire()
    assert json.loads(text)["client_time"] == "2026-12-07T09:00:01+08:00"  # as pydantic writes it
    batch = _encode_batch(store.client_id, [(mid, text)])
    assert batch is not None and batch.body == _models_body(store, 100)


def test_full_tickets_are_cut_to_the_budget_where_fit_push_batch_cuts(store: CacheStore) -> None:
    t0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    for i in range(40):
        store.create_ticket(_fields(i, **FULL), call_started_at=t0)
    after = 0
    sizes = []
    while True:
        batch = _encode_batch(store.client_id, store.pending_wire(limit=100, after=after))
        if batch is None:
            break
        assert batch.body == _models_body(store, 100, after=after)
        assert len(batch.body) <= MAX_PUSH_BODY_BYTES
        sizes.append(batch.count)
        after = batch.last
    assert sum(sizes) == 40 and len(sizes) > 1
    assert _encode_batch(store.client_id, []) is None
