"""The local store on a real encrypted SQLite file: saves, drafts, queue, sync bookkeeping."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.protocol import (
    Change,
    Entity,
    MutationName,
    MutationOutcome,
    MutationResult,
    PullResponse,
    PushResponse,
)
from offline_cache import (
    CacheStore,
    InvalidChange,
    QueueQuery,
    QueueSort,
    QueueView,
    SaveFailed,
    UnknownTicket,
    open_cache,
)
from offline_cache.schema import LATEST

T0 = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


class Clock:
    """A settable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(clock: Clock) -> Iterator[CacheStore]:
    s = open_cache("test", clock=clock)
    s.set_identity("alice", "east", "agent")
    yield s
    s.close()


def new_ticket(store: CacheStore, **fields: Any) -> str:
    base: dict[str, Any] = {
        "caller_name": "张三",
        "phone": "13800138000",
        "address": "上海市黄浦区人民路1号",
        "account": "小区停水两天",
    }
    base.update(fields)
    started = base.pop("call_started_at", T0)
    tid = base.pop("ticket_id", None)
    return str(store.create_ticket(base, call_started_at=started, ticket_id=tid).ticket_id)


def server_ticket(tid: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": tid,
        "number": "20261124-000001",
        "revision": 1,
        "status": "accepted",
        "caller_name": "张三",
        "phone": "13800138000",
        "address": "上海市黄浦区人民路1号",
        "urgency": "normal",
        "kind": "help",
        "call_started_at": T0.isoformat(),
        "created_at": T0.isoformat(),
        "created_by": "alice",
        "assignee": "alice",
        "team": "east",
    }
    data.update(fields)
    return data


def page(
    changes: list[tuple[Entity, str, dict[str, Any]]],
    *,
    cursor: int,
    last: int = 0,
    epoch: str = "e1",
    has_more: bool = False,
) -> PullResponse:
    return PullResponse(
        changes=[
            Change(
                seq=cursor - len(changes) + i + 1, entity=e, entity_id=eid, data=d, server_time=T0
            )
            for i, (e, eid, d) in enumerate(changes)
        ],
        cursor=cursor,
        has_more=has_more,
        last_mutation_id=last,
        epoch=epoch,
    )


# ---------------------------------------------------------------- saving


def test_save_writes_ticket_and_outbox_row_together(store: CacheStore) -> None:
    draft = store.save_draft("intake", {"caller_name": "张三"})
    saved = store.create_ticket(
        {"caller_name": "张三", "phone": "13800138000"},
        call_started_at=T0,
        ticket_id=draft.ticket_id,
        draft_id=draft.id,
    )
    assert saved.ticket_id == draft.ticket_id
    assert saved.mutation_id == 1
    ticket = store.get_ticket(draft.ticket_id or "")
    assert ticket is not None and ticket.pending == 1
    assert ticket.data["call_started_at"].startswith("2026-11-24T08:30")
    [item] = store.outbox()
    assert item.name == "create_ticket" and item.args["id"] == draft.ticket_id
    assert store.list_drafts() == []  # the draft went in the same transaction


def test_mutation_ids_are_sequential_per_client(store: CacheStore) -> None:
    tid = new_ticket(store)
    store.add_note(tid, "第一次回电未接通")
    store.update_ticket(tid, {"address": "人民路2号"})
    store.escalate(tid, "居民反映情况紧急")
    assert [m.mutation_id for m in store.pending_mutations()] == [1, 2, 3, 4]
    assert [m.name for m in store.pending_mutations()] == [
        MutationName.CREATE_TICKET,
        MutationName.ADD_NOTE,
        MutationName.UPDATE_TICKET,
        MutationName.ESCALATE,
    ]


def test_invalid_change_names_the_field(store: CacheStore) -> None:
    with pytest.raises(InvalidChange) as info:
        store.create_ticket({"caller_name": "x" * 51}, call_started_at=T0)
    assert info.value.field == "caller_name"
    assert store.outbox() == []
    with pytest.raises(UnknownTicket):
        store.add_note("0190b4a0-0000-7000-8000-000000000000", "x")


def test_local_edit_shows_at_once(store: CacheStore) -> None:
    tid = new_ticket(store)
    store.update_ticket(tid, {"address": "人民路2号"})
    store.change_status(tid, "dispatched")
    ticket = store.get_ticket(tid)
    assert ticket is not None
    assert ticket.data["address"] == "人民路2号" and ticket.data["status"] == "dispatched"
    assert store.search("人民路2号")[0].id == tid


def test_disk_full_fails_cleanly_and_keeps_nothing_half_written(store: CacheStore) -> None:
    new_ticket(store)
    conn = store._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
    with pytest.raises(SaveFailed) as info:
        for _ in range(50):
            new_ticket(store, account="很长的诉求" * 400)
    assert info.value.reason == "disk_full"
    assert "磁盘已满" in str(info.value) and "disk is full" in info.value.message("en")
    stats = store.outbox_stats()
    assert stats.size == store.counts().total  # every ticket still has its outbox row


def test_read_only_cache_fails_cleanly(store: CacheStore) -> None:
    store._conn.execute("PRAGMA query_only = ON")
    with pytest.raises(SaveFailed) as info:
        new_ticket(store)
    assert info.value.reason == "read_only"
    store._conn.execute("PRAGMA query_only = OFF")
    assert store.outbox() == []


def test_saves_from_many_threads(store: CacheStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                new_ticket(store, caller_name=f"线程{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    ids = [m.mutation_id for m in store.pending_mutations(limit=1000)]
    assert ids == list(range(1, 61))
    assert store.counts().total == 60


# ---------------------------------------------------------------- drafts


def test_drafts_autosave_list_restore_delete(store: CacheStore, clock: Clock) -> None:
    d1 = store.save_draft("intake", {"phone": "138"})
    clock.advance(seconds=5)
    d1b = store.save_draft("intake", {"phone": "13800138000"}, draft_id=d1.id)
    clock.advance(seconds=5)
    d2 = store.save_draft("urgent_medical", {"caller_name": "李四"})
    assert d1b.ticket_id == d1.ticket_id  # the ticket id is fixed when the draft opens
    assert d1b.created_at == d1.created_at and d1b.updated_at > d1.updated_at
    assert [d.id for d in store.list_drafts()] == [d2.id, d1.id]
    restored = store.get_draft(d1.id)
    assert restored is not None and restored.values == {"phone": "13800138000"}
    store.delete_draft(d1.id)
    assert store.get_draft(d1.id) is None


def test_a_saved_ticket_leaves_no_draft_even_when_an_autosave_races_the_submit(
    store: CacheStore,
) -> None:
    early = store.save_draft("intake", {"phone": "138"})
    tid = early.ticket_id
    assert tid is not None
    # the submit does not know the draft's id yet (the autosave is still in flight) ...
    new_ticket(store, ticket_id=tid)
    assert store.list_drafts() == []  # ... its draft goes by ticket id
    # ... and an autosave that lands after the save keeps nothing to restore
    store.save_draft("intake", {"phone": "13800138000"}, ticket_id=tid)
    assert store.list_drafts() == []
    other = store.save_draft("intake", {"phone": "139"})
    assert [d.id for d in store.list_drafts()] == [other.id]


def test_saves_leave_the_checkpoint_to_the_checkpointer(store: CacheStore) -> None:
    """SQLite's automatic checkpoint (every 1,000 WAL frames) would copy ~1,000 pages inside
    some save; the store checkpoints on a connection of its own instead (the replicator
    calls it after each sync), so no save pays for it."""
    for i in range(300):
        new_ticket(store, account=f"停水 {i}")
    wal, copied = store.checkpoint()
    assert wal > 1000  # no save restarted the WAL by checkpointing on its own
    assert copied == wal  # the checkpointer copied every frame back
    new_ticket(store, account="再来一单")
    assert store.checkpoint()[0] < 100  # the next save started the WAL over
    assert store.integrity_check() == "ok" and store.counts().total == 301


# ---------------------------------------------------------------- queue and search


def test_queue_views_sorts_and_counts(store: CacheStore, clock: Clock) -> None:
    a = new_ticket(store, call_started_at=T0)
    b = new_ticket(store, urgency="red", call_started_at=T0 + timedelta(minutes=10))
    c = new_ticket(store, call_started_at=T0 + timedelta(minutes=20))
    store.apply_pull(
        page(
            [
                (
                    Entity.TICKET,
                    "0190b4a0-0000-7000-8000-00000000000d",
                    server_ticket(
                        "0190b4a0-0000-7000-8000-00000000000d",
                        assignee="bob",
                        created_by="bob",
                        team="west",
                        status="handling",
                    ),
                ),
            ],
            cursor=1,
        )
    )
    mine = store.queue_page(QueueQuery(view=QueueView.MINE))
    assert [r.id for r in mine.rows] == [c, b, a] and mine.total == 3
    urgent = store.queue_page(QueueQuery(view=QueueView.ALL, sort=QueueSort.URGENCY))
    assert urgent.rows[0].id == b
    assert [r.id for r in store.queue_page(QueueQuery(view=QueueView.RED)).rows] == [b]
    team = store.queue_page(QueueQuery(view=QueueView.TEAM, team="west"))
    assert team.total == 1
    handling = store.queue_page(QueueQuery(statuses=("handling",)))
    assert handling.total == 1
    counts = store.counts()
    assert counts.by_status == {"accepted": 3, "handling": 1}
    assert counts.by_urgency == {"normal": 3, "red": 1} and counts.total == 4
    # red ticket: 30 minutes from the call (not from the sync); then it is overdue
    red = store.queue_page(QueueQuery(sort=QueueSort.DEADLINE)).rows[0]
    assert red.id == b and red.deadline_at == T0 + timedelta(minutes=40)
    assert store.queue_page(QueueQuery(view=QueueView.OVERDUE)).total == 0  # 09:00
    clock.advance(minutes=15)
    assert [r.id for r in store.queue_page(QueueQuery(view=QueueView.OVERDUE)).rows] == [b]
    paged = store.queue_page(QueueQuery(limit=2, offset=2))
    assert len(paged.rows) == 2 and paged.total == 4


def test_a_view_past_a_thousand_rows_counts_them_all_and_pages_to_the_end(
    store: CacheStore,
) -> None:
    """Only a text search stops counting at 1,000 ("1000+"); a plain view of a large cache
    reports its real total, and the last page is reachable."""
    ids = [f"0190b4a0-0000-7000-8000-{i:012d}" for i in range(1, 1206)]
    store.apply_pull(
        page(
            [
                (Entity.TICKET, tid, server_ticket(tid, number=f"20261124-{i:06d}"))
                for i, tid in enumerate(ids, 1)
            ],
            cursor=len(ids),
        )
    )
    everything = store.queue_page(QueueQuery(view=QueueView.ALL, limit=50))
    assert everything.total == 1205 and not everything.total_capped
    last = store.queue_page(QueueQuery(view=QueueView.ALL, limit=50, offset=1200))
    assert len(last.rows) == 5
    searched = store.queue_page(QueueQuery(view=QueueView.ALL, text="人民路", limit=50))
    assert searched.total == 1000 and searched.total_capped


def test_search_by_phone_name_id_card_address(store: CacheStore) -> None:
    tid = new_ticket(
        store, caller_name="欧阳娜娜", id_card="11010519491231002X", address="浦东新区世纪大道100号"
    )
    new_ticket(store, caller_name="王五", phone="13900000000", address="徐汇区漕溪北路")
    for text in ("欧阳", "欧阳娜娜", "138001", "11010519491231002X", "世纪大道", "浦东 100号"):
        assert [r.id for r in store.search(text)] == [tid], text
    assert store.search("没有这个人") == []
    assert store.search("%") == []  # LIKE wildcards are escaped


def test_open_tickets_of_a_caller_number(store: CacheStore) -> None:
    a = new_ticket(store, phone="13800138000")
    b = new_ticket(store, phone="138-0013-8000", call_started_at=T0 + timedelta(minutes=1))
    closed = new_ticket(store, phone="13800138000")
    store.change_status(closed, "closed")
    new_ticket(store, phone="13900000000")
    assert [r.id for r in store.open_tickets_for_phone("+86 138 0013 8000")] == [b, a]


@pytest.mark.parametrize("sort", list(QueueSort))
@pytest.mark.parametrize("view", [QueueView.ALL, QueueView.MINE, QueueView.TEAM, QueueView.RED])
def test_queue_pages_walk_an_index_never_sort_the_table(
    store: CacheStore, view: QueueView, sort: QueueSort
) -> None:
    """On 100,000 tickets a page must not sort the table (timings are in benchmarks/)."""
    conn = store._conn
    page_sql, _, params = store._page_sql(conn, QueueQuery(view=view, sort=sort))
    plan = " | ".join(
        str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + page_sql, [*params, 50, 0])
    )
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    if view != QueueView.RED:  # open red tickets are few: sorting them alone is cheap
        assert "TEMP B-TREE" not in plan, plan


def test_caller_lookup_uses_its_index(store: CacheStore) -> None:
    plan = " ".join(
        str(r[3])
        for r in store._conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE phone_key = ? AND is_open = 1"
            " ORDER BY call_started_at DESC LIMIT 20",
            ("13800138000",),
        )
    )
    assert "USING INDEX tickets_phone" in plan


# ---------------------------------------------------------------- knowledge base and forms


def test_kb_search_in_chinese_offline(store: CacheStore) -> None:
    store.apply_pull(
        page(
            [
                (
                    Entity.KB_ARTICLE,
                    "kb1",
                    {
                        "id": "kb1",
                        "title": "停水怎么办",
                        "body": "区域性停水请拨打自来水热线，并告知小区名称。",
                        "tags": ["供水"],
                        "category": "water",
                        "updated_at": T0.isoformat(),
                    },
                ),
                (
                    Entity.KB_ARTICLE,
                    "kb2",
                    {
                        "id": "kb2",
                        "title": "狂犬疫苗接种点",
                        "body": "被犬咬伤后请尽快到接种点，停水无关。",
                        "tags": [],
                        "category": "medical",
                        "updated_at": T0.isoformat(),
                    },
                ),
                (Entity.FORM_SET, "current", {"version": "v2", "forms": {"intake": {}}}),
            ],
            cursor=3,
        )
    )
    assert [h.id for h in store.kb_search("停水")] == ["kb1", "kb2"]  # title first
    assert [h.id for h in store.kb_search("自来水热线")] == ["kb1"]
    assert [h.id for h in store.kb_search("狂犬 接种")] == ["kb2"]
    assert store.kb_article("kb1") is not None
    assert (store.forms() or {})["version"] == "v2"


# ---------------------------------------------------------------- acknowledgement and pull


def test_outbox_rows_leave_only_when_covered(store: CacheStore) -> None:
    tid = new_ticket(store)
    store.add_note(tid, "备注")
    store.apply_push_result(
        PushResponse(
            last_mutation_id=1,
            results=[
                MutationResult(
                    mutation_id=1,
                    outcome=MutationOutcome.APPLIED,
                    ticket_id=tid,
                    ticket_number="20261124-000007",
                    revision=1,
                )
            ],
        )
    )
    assert [m.mutation_id for m in store.pending_mutations()] == [2]
    ticket = store.get_ticket(tid)
    assert ticket is not None and ticket.display_number == "20261124-000007"
    store.apply_pull(page([], cursor=5, last=2))
    assert store.pending_mutations() == []
    assert store.notes(tid)[0].pending is False
    meta = store.sync_meta()
    assert meta.cursor == 5 and meta.last_acked_mutation_id == 2


def test_rejected_mutation_is_kept_aside_with_reason(store: CacheStore) -> None:
    tid = new_ticket(store)
    store.change_status(tid, "evaluated")
    store.add_note(tid, "ok")
    store.apply_push_result(
        PushResponse(
            last_mutation_id=3,
            results=[
                MutationResult(mutation_id=1, outcome=MutationOutcome.APPLIED, revision=1),
                MutationResult(
                    mutation_id=2,
                    outcome=MutationOutcome.REJECTED,
                    reason="不能从受理直接到评价",
                    field="args.to",
                ),
                MutationResult(mutation_id=3, outcome=MutationOutcome.APPLIED, revision=2),
            ],
        )
    )
    assert store.pending_mutations() == []
    [item] = store.needs_attention()
    assert item.mutation_id == 2 and item.reason == "不能从受理直接到评价"
    assert item.field == "args.to" and item.args["to"] == "evaluated"
    assert store.outbox_stats().needs_attention == 1
    assert [r.id for r in store.queue_page(QueueQuery(view=QueueView.NEEDS_ATTENTION)).rows] == [
        tid
    ]
    store.dismiss_attention(2)
    assert store.needs_attention() == []
    assert store.outbox_stats().needs_attention == 0
    assert store.queue_page(QueueQuery(view=QueueView.NEEDS_ATTENTION)).total == 0
    # dismissed, not deleted: the refused change and the server's reason are kept
    [seen] = store.needs_attention(seen=True)
    assert seen.mutation_id == 2 and seen.kind == "seen:rejected"
    assert seen.reason == "不能从受理直接到评价" and seen.args["to"] == "evaluated"


def test_duplicate_answer_replaying_a_rejection_is_kept_aside(store: CacheStore) -> None:
    tid = new_ticket(store)
    store.change_status(tid, "evaluated")
    store.apply_push_result(
        PushResponse(
            last_mutation_id=2,
            results=[
                MutationResult(mutation_id=1, outcome=MutationOutcome.DUPLICATE, revision=1),
                MutationResult(
                    mutation_id=2,
                    outcome=MutationOutcome.DUPLICATE,
                    reason="illegal move",
                    field="args.to",
                ),
            ],
        )
    )
    assert [a.mutation_id for a in store.needs_attention()] == [2]


def test_pending_local_edit_wins_on_screen_until_acknowledged(store: CacheStore) -> None:
    tid = new_ticket(store)
    store.apply_pull(page([(Entity.TICKET, tid, server_ticket(tid))], cursor=1, last=1))
    store.update_ticket(tid, {"address": "我改的地址"})
    # someone else's change arrives while mine is still in the outbox
    store.apply_pull(
        page(
            [(Entity.TICKET, tid, server_ticket(tid, revision=2, district="黄浦区"))],
            cursor=2,
            last=1,
        )
    )
    ticket = store.get_ticket(tid)
    assert ticket is not None
    assert ticket.data["address"] == "我改的地址" and ticket.data["district"] == "黄浦区"
    assert ticket.server_data is not None and ticket.server_data["address"] != "我改的地址"
    # acknowledged and pulled: the server's word is final
    store.apply_pull(
        page(
            [(Entity.TICKET, tid, server_ticket(tid, revision=3, address="服务器的地址"))],
            cursor=3,
            last=2,
        )
    )
    ticket = store.get_ticket(tid)
    assert ticket is not None and ticket.data["address"] == "服务器的地址" and ticket.pending == 0


def test_epoch_refetch_keeps_outbox_and_drops_what_server_lost(store: CacheStore) -> None:
    kept = "0190b4a0-0000-7000-8000-0000000000a1"
    lost = "0190b4a0-0000-7000-8000-0000000000a2"
    store.apply_pull(
        page(
            [
                (Entity.TICKET, kept, server_ticket(kept)),
                (Entity.TICKET, lost, server_ticket(lost, number="20261124-000002")),
            ],
            cursor=2,
        )
    )
    mine = new_ticket(store)
    store.start_refetch("e2")
    assert store.sync_meta().cursor == 0
    store.apply_pull(page([(Entity.TICKET, kept, server_ticket(kept))], cursor=1, epoch="e2"))
    assert store.get_ticket(kept) is not None
    assert store.get_ticket(lost) is None
    assert store.get_ticket(mine) is not None and len(store.outbox()) == 1


def test_server_forgot_requeues_acknowledged_mutations(store: CacheStore) -> None:
    tid = new_ticket(store)
    store.add_note(tid, "n1")
    store.apply_push_result(PushResponse(last_mutation_id=2, results=[]))
    assert store.outbox() == []
    assert store.server_forgot(0) == 2
    assert [m.mutation_id for m in store.pending_mutations()] == [1, 2]
    assert store.sync_meta().last_acked_mutation_id == 0


# ---------------------------------------------------------------- retention, schema


def test_retention_purges_synced_closed_tickets_only(store: CacheStore, clock: Clock) -> None:
    old = "0190b4a0-0000-7000-8000-0000000000b1"
    store.apply_pull(
        page(
            [
                (
                    Entity.TICKET,
                    old,
                    server_ticket(
                        old, status="closed", closed_at=(T0 - timedelta(days=40)).isoformat()
                    ),
                )
            ],
            cursor=1,
        )
    )
    unsynced = new_ticket(store)
    store.change_status(unsynced, "closed")
    assert store.purge_closed(days=30) == 1
    assert store.get_ticket(old) is None and store.get_ticket(unsynced) is not None


def test_schema_version_and_reopen(store: CacheStore, clock: Clock) -> None:
    tid = new_ticket(store)
    client_id = store.client_id
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    again = open_cache("test", clock=clock)
    try:
        assert again.client_id == client_id and again.get_ticket(tid) is not None
        assert again.integrity_check() == "ok"
    finally:
        again.close()


def test_a_version_1_cache_upgrades_keeping_its_tickets_and_finds_them_by_address(
    store: CacheStore, clock: Clock
) -> None:
    here = new_ticket(store, address="上海市黄浦区人民路1号", phone="13800138001")
    new_ticket(store, address="上海市黄浦区人民路1号3弄", phone="13800138002")  # longer: not it
    done = new_ticket(store, address="上海市黄浦区人民路1号", phone="13800138003")
    store.change_status(done, "closed")
    with store._conn:  # as a cache written before the address index existed
        store._conn.execute("DROP INDEX tickets_address_open")
        store._conn.execute("PRAGMA user_version = 1")
    store.close()
    again = open_cache("test", clock=clock)
    try:
        assert again._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        found = again.open_tickets_at_address("  上海市黄浦区人民路1号 ")
        assert [r.id for r in found] == [here]
        plan = again._conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE trim(address) = ? AND is_open = 1",
            ("x",),
        ).fetchall()
        assert "tickets_address_open" in str(plan)
    finally:
        again.close()


def test_retention_runs_when_the_cache_opens(store: CacheStore, clock: Clock) -> None:
    old = "0190b4a0-0000-7000-8000-0000000000b2"
    store.apply_pull(
        page(
            [(Entity.TICKET, old, server_ticket(old, status="closed", closed_at=T0.isoformat()))],
            cursor=1,
        )
    )
    store.close()
    clock.advance(days=31)
    again = open_cache("test", clock=clock)
    try:
        assert again.get_ticket(old) is None
    finally:
        again.close()


# ---------------------------------------------------------------- a read-only cache file

RO_PROBE = """
import json, sys
from datetime import UTC, datetime
from pathlib import Path
from offline_cache import SaveFailed, open_cache
out = {"opened": False, "saved": False, "reason": None, "error": None, "tickets": None}
try:
    store = open_cache("ro", path=Path(sys.argv[1]))
    out["opened"] = True
    out["tickets"] = store.counts().total
    store.create_ticket({"caller_name": "李四", "phone": "13900139000"},
                        call_started_at=datetime.now(UTC))
    out["saved"] = True
except SaveFailed as exc:
    out["reason"], out["error"] = exc.reason, exc.message("en")
except Exception as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def _cache_with_one_ticket(folder: Path) -> tuple[Path, bytes]:
    """A closed cache file (no -wal left) holding one ticket; returns its path and bytes."""
    import keyring

    from tests.support.keyring_backend import FileKeyring

    keyring.set_keyring(FileKeyring())  # a key the probe process can read too (env set)
    folder.mkdir()
    path = folder / "ro.db"
    s = open_cache("ro", path=path)
    s.set_identity("alice", "east", "agent")
    new_ticket(s)
    s.close()
    assert sorted(p.name for p in folder.iterdir()) == ["ro.db", "ro.db.keycheck"]
    return path, path.read_bytes()


def _probe_on_read_only_mount(path: Path) -> dict[str, Any]:
    """Run RO_PROBE in a private mount namespace where the cache's folder is bind-mounted
    read-only: the kernel refuses every write (EROFS), for root too. Skips where mount
    namespaces are not allowed."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path as P

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) for a read-only bind mount")
    root = P(__file__).resolve().parents[3]
    ns = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        ns[1:1] = ["--user", "--map-root-user"]
    script = 'mount --bind -o ro "$0" "$0" && exec "$1" -c "$2" "$3"'
    result = subprocess.run(
        [*ns, "sh", "-c", script, str(path.parent), sys.executable, RO_PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    if result.returncode != 0 and not result.stdout.strip():
        pytest.skip(f"no read-only bind mount here (mount namespace refused?): {result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_read_only_disk_fails_cleanly_and_never_moves_the_file(tmp_path: Path) -> None:
    """The cache's folder on a read-only mount (root cannot write there either): opening or
    saving fails with SaveFailed, nothing else; the file is neither moved aside nor changed."""
    path, before = _cache_with_one_ticket(tmp_path / "ro")
    out = _probe_on_read_only_mount(path)
    assert not out["saved"]
    assert out["reason"] is not None, out  # SaveFailed, not a crash
    # nothing moved aside (the .keycheck beside it was written when the cache was made)
    assert sorted(p.name for p in path.parent.iterdir()) == ["ro.db", "ro.db.keycheck"]
    assert path.read_bytes() == before
    again = open_cache("ro", path=path)  # writable again: all still there
    try:
        assert again.recovery is None and again.counts().total == 1
        assert again.outbox_stats().size == 1
    finally:
        again.close()


def test_read_only_disk_says_read_only(tmp_path: Path) -> None:
    path, _ = _cache_with_one_ticket(tmp_path / "ro")
    out = _probe_on_read_only_mount(path)
    assert out["reason"] == "read_only", out
    assert "read-only" in out["error"]


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="runs as root: file modes do not stop root's writes (CAP_DAC_OVERRIDE), so chmod"
    " cannot make the cache read-only; test_read_only_disk_* use a read-only mount instead",
)
def test_read_only_cache_file_and_folder_by_file_mode(tmp_path: Path) -> None:
    """chmod 0o444 on the file: the cache opens and reads, a save fails with the read-only
    message and leaves nothing; 0o555 on the folder too: opening fails the same way; the
    file is never moved aside."""
    import stat

    path, before = _cache_with_one_ticket(tmp_path / "ro")
    folder = path.parent
    path.chmod(0o444)
    try:
        store = open_cache("ro", path=path)
        try:
            assert store.counts().total == 1
            with pytest.raises(SaveFailed) as info:
                new_ticket(store)
            assert info.value.reason == "read_only"
            assert "read-only" in info.value.message("en")
            assert store.outbox_stats().size == 1
        finally:
            store.close()
        for extra in folder.iterdir():  # the -wal/-shm that opening made
            if extra != path:
                extra.unlink()
        folder.chmod(0o555)
        with pytest.raises(SaveFailed) as info:
            open_cache("ro", path=path)
        assert info.value.reason == "read_only"
        assert sorted(p.name for p in folder.iterdir()) == ["ro.db", "ro.db.keycheck"]
    finally:
        folder.chmod(stat.S_IRWXU)
        path.chmod(0o644)
    assert path.read_bytes() == before


def test_the_next_agent_at_a_desk_gets_a_client_id_of_their_own_when_nothing_waits(
    store: CacheStore,
) -> None:
    """The server binds a client id to its first user: a ticket the next agent saves before
    the first sync must not be queued under the previous agent's id (it would wait there)."""
    first = store.client_id
    store.set_identity("alice", "east", "agent")  # the same agent again: same id
    assert store.client_id == first
    store.set_identity("bob", "east", "agent")
    second = store.client_id
    assert second != first
    new_ticket(store)
    assert [m.mutation_id for m in store.pending_mutations()] == [1]  # counted from 1 again
    store.set_identity("carol", "east", "agent")  # bob's ticket waits under bob's id
    assert store.client_id == second
    assert store.sync_meta().user == "carol"
