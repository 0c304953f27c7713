"""The replicator on a thread of its own (issue 14), against the real server process: what a
desk sees is the same as on its UI loop (saves pushed, the other agent's tickets pulled,
states reported), its work happens on its own thread, pokes close together are one round,
and stopping ends the thread, bounded, with nothing left running."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from offline_cache import LinkState, SyncOutcome, SyncSnapshot, SyncThread
from tests.integration.cache.conftest import Hotline, assert_converged, fields, now


def wait_for(check: Callable[[], Any], what: str, seconds: float = 20.0) -> None:
    """Poll ``check`` (bounded in count and time) from the test's thread."""
    deadline = time.monotonic() + seconds
    for _ in range(10_000):
        if check():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def push_as_bob(
    hotline: Hotline, numbers: Iterable[int], between: Callable[[int], None] | None = None
) -> list[SyncOutcome]:
    """Bob (alice's team) saves and pushes one ticket per number, 0.1 s apart; ``between``
    runs before each push."""
    bob = hotline.desk("bob")
    outcomes = []
    try:
        for n, number in enumerate(numbers):
            if between is not None:
                between(n)
            bob.store.create_ticket(fields(number), call_started_at=now())
            outcomes.append(await bob.sync())
            await asyncio.sleep(0.1)
    finally:
        await bob.close()
    return outcomes


class Reports:
    """What the replicator reported, and on which thread."""

    def __init__(self) -> None:
        self.states: list[SyncSnapshot] = []
        self.threads: set[str] = set()
        self.exits: list[BaseException | None] = []
        self.lock = threading.Lock()

    def on_state(self, snap: SyncSnapshot) -> None:
        with self.lock:
            self.states.append(snap)
            self.threads.add(threading.current_thread().name)

    def on_exit(self, error: BaseException | None) -> None:
        self.exits.append(error)

    def rounds(self) -> int:
        with self.lock:
            return sum(1 for s in self.states if s.state == LinkState.SYNCING)


def test_the_replicator_syncs_on_its_own_thread_and_stops_without_leftovers(
    hotline: Hotline,
) -> None:
    alice = hotline.desk("alice", listen=True, pull_interval=30.0)
    reports = Reports()
    alice.rep._on_state = reports.on_state
    sync = SyncThread(alice.rep, name="alice-replicator", on_exit=reports.on_exit)
    sync.start()
    try:
        wait_for(lambda: alice.rep.snapshot().state == LinkState.ONLINE, "online")
        # a save, from this (another) thread: pushed without the agent asking, numbered
        tid = str(alice.store.create_ticket(fields(1), call_started_at=now()).ticket_id)
        sync.saved_locally()
        wait_for(lambda: alice.store.outbox() == [], "the save pushed")
        wait_for(
            lambda: (t := alice.store.get_ticket(tid)) is not None and t.data.get("number"),
            "the server's number",
        )
        # the other agent's ticket arrives by the event stream's poke (the pull timer is 30 s)
        assert asyncio.run(push_as_bob(hotline, [2])) == [SyncOutcome.DONE]
        wait_for(lambda: alice.store.counts().total == 2, "bob's ticket at alice's desk")
    finally:
        stopped = sync.stop()
    assert stopped and sync.ended and not sync.running  # ended within the bound
    assert "alice-replicator" not in {t.name for t in threading.enumerate()}
    assert reports.exits == [None]  # stopped, not failed
    assert reports.threads == {"alice-replicator"}  # every report made on its own thread
    assert alice.rep.snapshot().state == LinkState.STOPPED
    assert_converged(hotline, alice)
    alice.store.close()


def test_saves_and_pokes_close_together_are_one_round(hotline: Hotline) -> None:
    # A gap no test machine outlasts: nothing the saves or the stream ask for starts a round
    # by itself here, so what the test sees is what coalescing does, not how fast it ran.
    alice = hotline.desk("alice", listen=True, pull_interval=3600.0, poke_gap=3600.0)
    reports = Reports()
    alice.rep._on_state = reports.on_state
    sync = SyncThread(alice.rep, name="alice-replicator")
    sync.start()
    try:
        wait_for(lambda: alice.rep.snapshot().state == LinkState.ONLINE, "the first round")
        assert reports.rounds() == 1

        def alice_saves(i: int) -> None:  # at alice's desk, between bob's pushes
            alice.store.create_ticket(fields(10 + i), call_started_at=now())
            sync.saved_locally()

        # five saves at alice's desk, five pushes (five pokes) by bob
        pushed = asyncio.run(push_as_bob(hotline, range(20, 25), between=alice_saves))
        assert pushed == [SyncOutcome.DONE] * 5
        time.sleep(0.5)
        assert reports.rounds() == 1  # gathered: not one round per save or poke
        assert len(alice.store.outbox()) == 5  # ... and kept meanwhile
        sync.poke()  # the agent's "sync now" goes at once: one round takes them all
        wait_for(lambda: alice.store.outbox() == [], "the five saves pushed")
        wait_for(lambda: alice.store.counts().total == 10, "bob's five tickets pulled")
        wait_for(lambda: alice.rep.snapshot().state == LinkState.ONLINE, "online again")
        assert reports.rounds() == 2
    finally:
        stopped = sync.stop()
    assert stopped
    assert_converged(hotline, alice)
    alice.store.close()


def test_a_stop_while_the_server_does_not_answer_ends_within_its_bound(
    hotline: Hotline,
) -> None:
    """A round stuck on a server that accepts and never answers: the stop waits its bound,
    cancels the round, and the thread ends; the save is still in the outbox."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts (the kernel does), never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        alice = hotline.desk("alice", via=url, request_timeout=60.0, connect_timeout=60.0)
        alice.store.create_ticket(fields(30), call_started_at=now())
        reports = Reports()
        alice.rep._on_state = reports.on_state
        sync = SyncThread(alice.rep, name="alice-replicator", on_exit=reports.on_exit)
        sync.start()
        wait_for(lambda: alice.rep.snapshot().state == LinkState.SYNCING, "the stuck round")
        assert sync.stop(wait=0.5, cancel_wait=10.0) is True
        assert sync.ended
        assert reports.exits == [None]  # cancelled on purpose: not a failure
        assert len(alice.store.outbox()) == 1  # nothing lost
        alice.store.close()
    finally:
        silent.close()
