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


@pytest.mark.slow
async def test_server_killed_mid_batch_is_all_or_nothing(hotline: Hotline) -> None:
    alice = hotline.desk("alice", batch_size=200, request_timeout=10.0)
    rng = random.Random(3)
    made = 0
    for round_no in range(3):
        for i in range(200):
            alice.store.create_ticket(fields(made + i), call_started_at=now())
        made += 200
        sync = asyncio.create_task(alice.sync())
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        hotline.server.kill()  # SIGKILL while the batch may be in flight
        assert await asyncio.wait_for(sync, 30) in (SyncOutcome.OFFLINE, SyncOutcome.DONE)
        count = len(server_tickets(hotline))
        assert count % 200 == 0, f"round {round_no}: a batch was half applied ({count})"
        hotline.server.start()
        assert await alice.drain() == SyncOutcome.DONE
        assert len(server_tickets(hotline)) == made
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()
