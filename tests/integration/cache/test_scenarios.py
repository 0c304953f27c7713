"""SYNC.md's scenarios end to end: a long outage, many desks at once, two desks on one
ticket, a restored server, a lost cursor, a laptop clock days off."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from offline_cache import LinkState, SyncOutcome, open_cache
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
from tests.support.databases import (
    backup_postgres_database,
    drop_postgres_database,
    restore_postgres_database,
)
from tests.support.faultproxy import FaultProxy, Link


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


BUSY_TICKETS = 1_000  # one desk at peak rate for 8 hours: a call every ~29 s ...
BUSY_NOTE_EVERY = 2  # ... and a note on every other ticket
DESKS = 20  # and twenty desks offline at once, each with tickets and notes
DESK_TICKETS = 10


def save_offline(
    desk: Desk, start: datetime, count: int, base: int, note_every: int
) -> tuple[list[str], list[str]]:
    """``count`` tickets (a call every 29 s from ``start``) and a note on every
    ``note_every``-th; returns the ticket and note ids, in the order they were saved."""
    tickets: list[str] = []
    notes: list[str] = []
    for i in range(count):
        at = start + timedelta(seconds=29 * i)
        saved = desk.store.create_ticket(fields(base + i), call_started_at=at, created_at=at)
        tickets.append(str(saved.ticket_id))
        if i % note_every == 0:
            note = desk.store.add_note(
                tickets[-1], f"离线期间的备注 {base + i}", created_at=at + timedelta(seconds=20)
            )
            notes.append(note.entity_id)
    return tickets, notes


@pytest.mark.slow
async def test_eight_hour_outage_one_busy_desk_and_twenty_desks_drain_in_order(
    hotline_any: Hotline,
) -> None:
    h = hotline_any
    with FaultProxy(target_port=h.server.port) as proxy:
        busy = h.desk("alice", "busy", via=proxy.url)
        # bob shares alice's team (those desks also pull all of the busy desk's work); carol's
        # desks are in another team (they pull only their team's: it keeps the test lean)
        others = [
            h.desk("bob" if n % 5 == 0 else "carol", f"desk{n}", via=proxy.url)
            for n in range(DESKS)
        ]
        everyone = (busy, *others)
        outage_start = now() - timedelta(hours=8)
        proxy.set_link(Link.DOWN)  # the link is cut: every connection is refused

        async def work_offline(
            desk: Desk, count: int, base: int, note_every: int, chunks: int
        ) -> tuple[list[str], list[str], list[SyncOutcome]]:
            """Save in chunks (in a thread: desks write their own files side by side); after
            each chunk the desk's replicator tries the server again."""
            tickets: list[str] = []
            notes: list[str] = []
            tries: list[SyncOutcome] = []
            per = count // chunks
            for c in range(chunks):
                at = outage_start + timedelta(seconds=29 * per * c)
                t, n = await asyncio.to_thread(
                    save_offline, desk, at, per, base + c * per, note_every
                )
                tickets += t
                notes += n
                tries.append(await desk.sync())
            return tickets, notes, tries

        results = await asyncio.gather(
            work_offline(busy, BUSY_TICKETS, 0, BUSY_NOTE_EVERY, 10),
            *(work_offline(d, DESK_TICKETS, 10_000 + n * 100, 1, 2) for n, d in enumerate(others)),
        )
        made, made_notes, _ = results[0]
        # the link really was down: every retry came back offline, the server saw nothing
        for desk, (_t, _n, tries) in zip(everyone, results, strict=True):
            assert tries and all(o == SyncOutcome.OFFLINE for o in tries), desk.user
            assert desk.rep.snapshot().state == LinkState.OFFLINE
            assert desk.rep.snapshot().last_error
        assert proxy.counters.refused >= sum(len(r[2]) for r in results)
        assert proxy.counters.requests == 0 and server_tickets(h) == {}
        assert busy.store.outbox_stats().size == BUSY_TICKETS + BUSY_TICKETS // BUSY_NOTE_EVERY
        assert busy.rep.snapshot().oldest_pending is not None  # the status bar shows it
        # the link returns: everyone at once
        proxy.heal()
        outcomes = await asyncio.gather(*(d.drain() for d in everyone))
        assert all(o == SyncOutcome.DONE for o in outcomes)
        # a second round (everything is pushed now) so each desk also pulls the others' work
        outcomes = await asyncio.gather(*(d.drain() for d in everyone))
        assert all(o == SyncOutcome.DONE for o in outcomes)
        assert proxy.counters.requests > 0
    all_tickets = [t for r in results for t in r[0]]
    all_notes = {n for r in results for n in r[1]}
    tickets = server_tickets(h)
    notes = server_notes(h)
    # every ticket and note exactly once (ids are primary keys; counts catch strays)
    assert len(all_tickets) == BUSY_TICKETS + DESKS * DESK_TICKETS
    assert set(tickets) == set(all_tickets) and len(tickets) == len(all_tickets)
    assert set(notes) == all_notes and len(all_notes) == len(made_notes) + DESKS * DESK_TICKETS
    # in order: each desk's mutations were applied in mutation-id order ...
    order = history_order(h)
    assert len(order) == 1 + DESKS
    for client_id, ids in order.items():
        assert ids == sorted(ids), client_id
    assert len(order[busy.store.client_id]) == len(made) + len(made_notes)
    # ... so the server's numbers follow the order the agent took the calls
    numbers = [tickets[t]["number"] for t in made]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    # the times the agent saw are kept: call times from 8 hours ago, not the sync time
    first = busy.store.get_ticket(made[0])
    assert first is not None
    assert first.data["call_started_at"].startswith(outage_start.strftime("%Y-%m-%dT%H:%M"))
    assert_converged(h, *everyone)
    assert_applied_once(h)
    for desk in everyone:
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


class Backup:
    """Last night's backup of the server's database (a file copy on SQLite, a template copy
    on PostgreSQL), and putting it back after a crash."""

    def __init__(self, h: Hotline, tmp_path: Path) -> None:
        self.url = h.database_url
        self.sqlite = self.url.startswith("sqlite")
        self.file = Path(self.url.removeprefix("sqlite:///"))
        self.copy = tmp_path / "backup.db"
        self.name: str | None = None

    def take(self) -> None:  # the server is stopped
        if self.sqlite:
            shutil.copy(self.file, self.copy)
        else:
            self.name = backup_postgres_database(self.url)

    def restore(self) -> None:  # the server is dead
        if self.sqlite:
            for suffix in ("-wal", "-shm"):
                Path(f"{self.file}{suffix}").unlink(missing_ok=True)
            shutil.copy(self.copy, self.file)
        else:
            assert self.name is not None
            restore_postgres_database(self.url, self.name)
            self.name = None

    def drop(self) -> None:
        if self.name is not None:
            drop_postgres_database(self.name)


@pytest.mark.slow
async def test_restored_server_new_epoch_gets_lost_work_again(
    hotline_any: Hotline, tmp_path: Path
) -> None:
    backup = Backup(hotline_any, tmp_path)
    try:
        await restored_server_scenario(hotline_any, backup)
    finally:
        backup.drop()


async def restored_server_scenario(hotline: Hotline, backup: Backup) -> None:
    from hotline_server.db.migrate import new_epoch

    alice, bob = hotline.desk("alice"), hotline.desk("bob")
    before = [
        str(alice.store.create_ticket(fields(i), call_started_at=now()).ticket_id) for i in range(3)
    ]
    assert await alice.sync() == SyncOutcome.DONE
    hotline.server.stop()
    backup.take()  # last night's backup
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
    backup.restore()
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
