"""SYNC.md's scenarios end to end: a long outage, many desks at once, two desks on one
ticket, a restored server, a lost cursor, a laptop clock days off."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from offline_cache import SyncOutcome, open_cache
from offline_cache.store import parse_time
from tests.integration.cache.conftest import (
    Desk,
    Hotline,
    assert_applied_once,
    assert_converged,
    fields,
    now,
    server_notes,
    server_tickets,
)


def history_order(h: Hotline) -> dict[str, list[int]]:
    """Per client, the mutation ids in the order the server applied them."""
    engine = h.engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT client_id, mutation_id FROM ticket_history"
                    " WHERE mutation_id IS NOT NULL ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    out: dict[str, list[int]] = {}
    for client_id, mutation_id in rows:
        out.setdefault(client_id, []).append(int(mutation_id))
    return out


@pytest.mark.slow
async def test_eight_hour_outage_one_busy_desk_and_twenty_desks_drain_in_order(
    hotline_any: Hotline,
) -> None:
    h = hotline_any
    busy = h.desk("alice", "busy")
    outage_start = now() - timedelta(hours=8)
    made: list[str] = []
    # 1,000 mutations made offline by one desk: 500 tickets, each with a note
    for i in range(500):
        at = outage_start + timedelta(seconds=57 * i)
        tid = str(busy.store.create_ticket(fields(i), call_started_at=at, created_at=at).ticket_id)
        busy.store.add_note(tid, f"离线期间的备注 {i}", created_at=at + timedelta(seconds=30))
        made.append(tid)
    assert busy.store.outbox_stats().size == 1000
    others: list[Desk] = []
    for n in range(20):
        desk = h.desk(("alice", "bob", "carol")[n % 3], f"desk{n}")
        for i in range(10):
            desk.store.create_ticket(fields(10_000 + n * 100 + i), call_started_at=outage_start)
        others.append(desk)
    # the link returns: everyone at once
    outcomes = await asyncio.gather(busy.drain(), *(d.drain() for d in others))
    assert all(o == SyncOutcome.DONE for o in outcomes)
    for desk in (busy, *others):  # a second round so each desk also pulls the others' work
        assert await desk.drain() == SyncOutcome.DONE
    tickets = server_tickets(h)
    assert len(tickets) == 500 + 200 and len(server_notes(h)) == 500
    # in order: each desk's mutations were applied in mutation-id order ...
    for client_id, ids in history_order(h).items():
        assert ids == sorted(ids), client_id
    # ... so the server's numbers follow the order the agent took the calls
    numbers = [tickets[t]["number"] for t in made]
    assert numbers == sorted(numbers)
    # the times the agent saw are kept: call times from 8 hours ago, not the sync time
    first = busy.store.get_ticket(made[0])
    assert first is not None
    assert first.data["call_started_at"].startswith(outage_start.strftime("%Y-%m-%dT%H:%M"))
    assert_converged(h, busy, *others)
    assert_applied_once(h)
    for desk in (busy, *others):
        await desk.close()


async def test_two_desks_one_ticket_note_and_escalation_merge(hotline: Hotline) -> None:
    alice, bob = hotline.desk("alice"), hotline.desk("bob")
    tid = str(alice.store.create_ticket(fields(1), call_started_at=now()).ticket_id)
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE
    # both offline: alice adds a note, bob adds a note and escalates
    alice.store.add_note(tid, "alice 的备注")
    bob.store.add_note(tid, "bob 的备注")
    bob.store.escalate(tid, "居民多次来电")
    assert await bob.sync() == SyncOutcome.DONE
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE
    notes = sorted(n.body for n in alice.store.notes(tid))
    assert notes == ["alice 的备注", "bob 的备注"]  # notes never conflict
    assert server_tickets(hotline)[tid]["escalation_level"] >= 1
    assert alice.store.needs_attention() == [] and bob.store.needs_attention() == []
    assert_converged(hotline, alice, bob)
    for d in (alice, bob):
        await d.close()


async def test_two_desks_same_field_later_server_write_wins_and_both_are_seen(
    hotline: Hotline,
) -> None:
    alice, bob = hotline.desk("alice"), hotline.desk("bob")
    tid = str(alice.store.create_ticket(fields(1), call_started_at=now()).ticket_id)
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE
    alice.store.update_ticket(tid, {"address": "A 地址", "district": "黄浦区"})
    bob.store.update_ticket(tid, {"address": "B 地址", "account": "bob 补充的诉求"})
    # on screen each desk sees its own edit until the server has spoken
    ticket = bob.store.get_ticket(tid)
    assert ticket is not None and ticket.data["address"] == "B 地址"
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE  # bob's write is later in server order
    assert await alice.sync() == SyncOutcome.DONE
    server = server_tickets(hotline)[tid]
    assert server["address"] == "B 地址"  # same field: the later write by server order
    assert server["account"] == "bob 补充的诉求"  # different fields merge
    [conflict] = bob.store.needs_attention()
    assert conflict.kind == "conflict" and conflict.conflict is not None
    assert conflict.conflict["address"]["theirs"] == "A 地址"  # the losing value is kept
    assert conflict.conflict["address"]["mine"] == "B 地址"
    # the desk that lost sees both values too, from its pull
    [lost] = alice.store.needs_attention()
    assert lost.kind == "conflict" and lost.conflict is not None
    assert lost.conflict["address"]["mine"] == "A 地址"
    assert lost.conflict["address"]["theirs"] == "B 地址"
    engine = hotline.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT conflict FROM ticket_history")).all()
    engine.dispose()
    raw = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    recorded = [c for c in raw if c]
    assert len(recorded) == 1 and recorded[0]["address"]["theirs"] == "A 地址"
    for d in (alice, bob):
        assert d.store.get_ticket(tid).data["address"] == "B 地址"  # type: ignore[union-attr]
    assert_converged(hotline, alice, bob)
    for d in (alice, bob):
        await d.close()


@pytest.mark.slow
async def test_restored_server_new_epoch_gets_lost_work_again(
    hotline: Hotline, tmp_path: Path
) -> None:
    from hotline_server.db.migrate import new_epoch

    alice, bob = hotline.desk("alice"), hotline.desk("bob")
    before = [
        str(alice.store.create_ticket(fields(i), call_started_at=now()).ticket_id) for i in range(3)
    ]
    assert await alice.sync() == SyncOutcome.DONE
    db_file = Path(hotline.database_url.removeprefix("sqlite:///"))
    hotline.server.stop()
    backup = tmp_path / "backup.db"
    shutil.copy(db_file, backup)  # last night's backup
    hotline.server.start()
    after = [
        str(alice.store.create_ticket(fields(10 + i), call_started_at=now()).ticket_id)
        for i in range(3)
    ]
    alice.store.add_note(before[0], "备份之后的备注")
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE
    assert alice.store.outbox() == []  # acknowledged: gone from the outbox
    # the server dies and is restored from the backup: it forgot `after` and the note
    hotline.server.kill()
    for suffix in ("-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, db_file)
    new_epoch(hotline.database_url)
    hotline.server.start()
    assert set(server_tickets(hotline)) == set(before)
    unsynced = str(bob.store.create_ticket(fields(99), call_started_at=now()).ticket_id)
    assert await bob.drain() == SyncOutcome.DONE  # new epoch: bob refetches, keeps his outbox
    assert await alice.drain() == SyncOutcome.DONE  # alice sends what the server forgot
    assert await bob.drain() == SyncOutcome.DONE
    assert set(server_tickets(hotline)) == {*before, *after, unsynced}
    assert len(server_notes(hotline)) == 1
    assert alice.store.sync_meta().epoch == bob.store.sync_meta().epoch
    assert_converged(hotline, alice, bob)
    assert_applied_once(hotline)
    for d in (alice, bob):
        await d.close()


async def test_lost_local_cursor_refetches_without_duplicates(hotline: Hotline) -> None:
    alice = hotline.desk("alice")
    for i in range(5):
        tid = str(alice.store.create_ticket(fields(i), call_started_at=now()).ticket_id)
        alice.store.add_note(tid, f"备注{i}")
    assert await alice.sync() == SyncOutcome.DONE
    with alice.store._lock:  # the cursor is lost (say, a restored laptop backup)
        alice.store._conn.execute("DELETE FROM meta WHERE key = 'cursor'")
    assert alice.store.sync_meta().cursor == 0
    alice.store.add_note(tid, "丢失位置之后")
    assert await alice.sync() == SyncOutcome.DONE
    assert alice.store.counts().total == 5 and len(alice.store.notes(tid)) == 2
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()


async def test_clock_skew_of_days_never_orders_anything(hotline: Hotline) -> None:
    real_now = now()
    ahead = lambda: now() + timedelta(days=3)  # noqa: E731
    behind = lambda: now() - timedelta(days=4)  # noqa: E731
    alice = hotline.desk("alice")
    bob = hotline.desk("bob")
    alice.store.close()
    bob.store.close()
    alice.store = open_cache("alice-desk", clock=ahead)
    bob.store = open_cache("bob-desk", clock=behind)
    alice.rep.store = alice.store
    bob.rep.store = bob.store
    tid = str(alice.store.create_ticket(fields(1), call_started_at=ahead()).ticket_id)
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE
    alice.store.update_ticket(tid, {"address": "快三天的时钟"})  # client time: +3 days
    assert await alice.sync() == SyncOutcome.DONE
    bob.store.update_ticket(tid, {"address": "慢四天的时钟"})  # client time: -4 days
    assert bob.store.outbox_stats().oldest_client_time is not None
    assert await bob.sync() == SyncOutcome.DONE
    assert await alice.sync() == SyncOutcome.DONE
    server = server_tickets(hotline)[tid]
    assert server["address"] == "慢四天的时钟"  # server order, not the laptops' clocks
    created = parse_time(server["created_at"])
    assert created is not None and abs((created - real_now).days - 3) <= 1  # as the desk saw
    assert_converged(hotline, alice, bob)
    for d in (alice, bob):
        await d.close()
