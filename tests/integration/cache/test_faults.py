"""Faults between desk and server (a fault-injecting TCP proxy on loopback) and of the
server itself. After healing: nothing lost, nothing applied twice, desks and server agree."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest

from offline_cache import LinkState, SyncOutcome
from tests.integration.cache.conftest import (
    Hotline,
    assert_applied_once,
    assert_converged,
    fields,
    now,
    server_notes,
    server_tickets,
)
from tests.support.faultproxy import Fault, FaultProxy, Link


@pytest.fixture
def proxy(hotline: Hotline) -> Iterator[FaultProxy]:
    with FaultProxy(target_port=hotline.server.port, delay_seconds=3.0) as p:
        yield p


async def test_response_dropped_after_the_server_committed(
    hotline: Hotline, proxy: FaultProxy
) -> None:
    alice = hotline.desk("alice", via=proxy.url)
    tid = str(alice.store.create_ticket(fields(1), call_started_at=now()).ticket_id)
    alice.store.add_note(tid, "第一条")
    proxy.plan(Fault.DROP_RESPONSE)  # the push is applied, its answer lost
    assert await alice.sync() == SyncOutcome.OFFLINE
    assert proxy.counters.dropped == 1
    assert tid in server_tickets(hotline)  # it did commit ...
    assert len(alice.store.outbox()) == 2  # ... but the desk cannot know: it keeps the rows
    assert alice.rep.snapshot().state == LinkState.OFFLINE
    assert await alice.sync() == SyncOutcome.DONE  # the retry is answered "duplicate"
    assert len(server_notes(hotline)) == 1
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()


async def test_connection_reset_mid_body_on_push_and_pull(
    hotline: Hotline, proxy: FaultProxy
) -> None:
    alice = hotline.desk("alice", via=proxy.url)
    for i in range(5):
        alice.store.create_ticket(fields(i), call_started_at=now())
    proxy.plan(Fault.RESET_MID_BODY)  # push answer cut in half
    assert await alice.sync() == SyncOutcome.OFFLINE
    proxy.plan(Fault.PASS, Fault.RESET_MID_BODY)  # push ok, pull answer cut in half
    assert await alice.sync() == SyncOutcome.OFFLINE
    assert proxy.counters.resets == 2
    assert await alice.drain() == SyncOutcome.DONE
    assert len(server_tickets(hotline)) == 5
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()


async def test_black_holed_link_times_out_then_drains(hotline: Hotline, proxy: FaultProxy) -> None:
    alice = hotline.desk("alice", via=proxy.url, request_timeout=1.0, connect_timeout=1.0)
    proxy.set_link(Link.BLACKHOLE)
    for i in range(3):
        alice.store.create_ticket(fields(i), call_started_at=now())
    outcome = await asyncio.wait_for(alice.sync(), 20)  # bounded by the desk's own timeouts
    assert outcome == SyncOutcome.OFFLINE
    assert "Timeout" in (alice.rep.snapshot().last_error or "")
    assert alice.rep.snapshot().outbox_size == 3
    assert (alice.rep.snapshot().oldest_pending_age() or 0) >= 0
    proxy.set_link(Link.UP)
    assert await alice.drain() == SyncOutcome.DONE
    assert_converged(hotline, alice)
    await alice.close()


@pytest.mark.slow
async def test_flapping_link_with_two_desks_saving(hotline: Hotline, proxy: FaultProxy) -> None:
    alice = hotline.desk("alice", via=proxy.url, request_timeout=2.0)
    bob = hotline.desk("bob", via=proxy.url, request_timeout=2.0)
    proxy.flap(0.15)
    rng = random.Random(7)
    tids: list[str] = []
    for i in range(40):
        desk = alice if i % 2 else bob
        tid = str(desk.store.create_ticket(fields(i), call_started_at=now()).ticket_id)
        tids.append(tid)
        if rng.random() < 0.5:
            desk.store.add_note(tid, f"备注{i}")
        if i % 5 == 0:
            await desk.sync()
    proxy.stop_flapping()
    proxy.fault_rate(0.3)  # and now every response may be dropped or cut
    for _ in range(10):
        await alice.sync()
        await bob.sync()
    proxy.heal()
    for _ in range(2):  # two rounds: each desk also pulls what the other pushed
        assert await alice.drain() == SyncOutcome.DONE
        assert await bob.drain() == SyncOutcome.DONE
    assert set(server_tickets(hotline)) == set(tids)
    assert proxy.counters.refused + proxy.counters.dropped + proxy.counters.resets > 0
    assert_converged(hotline, alice, bob)
    assert_applied_once(hotline)
    for d in (alice, bob):
        await d.close()


KILL_ROUNDS = 3
KILL_BATCH = 200


@pytest.mark.slow
async def test_server_killed_mid_batch_is_all_or_nothing(hotline_any: Hotline) -> None:
    """SIGKILL of the server while a push of one batch is at it (on SQLite and PostgreSQL):
    the server holds all of the batch or none of it, and the retry applies it once."""
    h = hotline_any
    rng = random.Random(3)
    killed_in_flight = 0  # rounds where the kill cut a push the server had not answered
    with FaultProxy(target_port=h.server.port) as proxy:
        alice = h.desk("alice", via=proxy.url, batch_size=KILL_BATCH, request_timeout=10.0)
        made = 0
        for round_no in range(KILL_ROUNDS):
            for i in range(KILL_BATCH):
                alice.store.create_ticket(fields(made + i), call_started_at=now())
            made += KILL_BATCH
            requests, responses = proxy.counters.requests, proxy.counters.responses
            sync = asyncio.create_task(alice.sync())
            for _ in range(2000):  # until the push has reached the server (bounded: ~20 s)
                if proxy.counters.requests > requests or sync.done():
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(rng.uniform(0.0, 0.08))  # somewhere in its transaction
            h.server.kill()  # SIGKILL: no shutdown, no rollback by the server itself
            outcome = await asyncio.wait_for(sync, 30)
            assert outcome in (SyncOutcome.OFFLINE, SyncOutcome.DONE)
            count = len(server_tickets(h))
            assert count in (made - KILL_BATCH, made), (
                f"round {round_no}: a batch was half applied ({count} of {made})"
            )
            unanswered = (proxy.counters.requests - requests) - (
                proxy.counters.responses - responses
            )
            pending = len(alice.store.outbox(limit=10 * KILL_BATCH))
            if outcome == SyncOutcome.OFFLINE and unanswered > 0 and pending == KILL_BATCH:
                killed_in_flight += 1  # the push was sent, never answered, not acknowledged
            h.server.start()
            assert await alice.drain() == SyncOutcome.DONE
            assert len(server_tickets(h)) == made
        assert killed_in_flight >= 1, "no kill landed while a push was in flight"
    assert_converged(h, alice)
    assert_applied_once(h)
    await alice.close()
