"""Hypothesis drives several desks against the real server app on a real SQLite file, with
dropped requests, dropped answers (after the server committed), desk crashes and server
restarts, and checks SYNC.md's invariants after every step and after healing.

The server app runs in this process (``create_app`` + ``httpx.ASGITransport``) so hundreds of
steps stay fast; everything else is real: the app's code, its database, the desks' encrypted
cache files. A fault transport between them drops requests or answers on command. A found
counterexample belongs in a regression test beside this file.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from offline_cache import CacheStore, Replicator, SyncOutcome, open_cache
from tests.integration.cache.conftest import PASSWORD, fields, now, prepare_database

DESKS = (("alice", "east"), ("bob", "east"), ("alice", "east"))
FAULTS = st.lists(st.sampled_from(["ok", "drop_request", "drop_response"]), max_size=4)


class FaultTransport(httpx.AsyncBaseTransport):
    """Drops the next requests before they reach the app, or their answers after it
    committed, as the plan says; then passes everything."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.plan: deque[str] = deque()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self.plan.popleft() if self.plan else "ok"
        if fault == "drop_request":
            raise httpx.ConnectError("request dropped", request=request)
        response = await self.inner.handle_async_request(request)
        if fault == "drop_response":
            await response.aread()  # the app has done the work (and committed) ...
            raise httpx.ReadError("answer dropped", request=request)  # ... the desk never knows
        return response


class World:
    """What lives across examples: the server database and the users' tokens."""

    database_url: str
    workdir: Path
    tokens: ClassVar[dict[str, str]] = {}
    examples = 0


def make_app(database_url: str) -> Any:
    from hotline_server.app import create_app
    from hotline_server.settings import Settings

    return create_app(Settings(database_url=database_url), live=False)


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        World.examples += 1
        self.n = World.examples
        self.app = make_app(World.database_url)
        self.transport = FaultTransport(httpx.ASGITransport(app=self.app))
        self.stores: list[CacheStore] = []
        self.saved_tickets: list[set[str]] = []
        self.saved_notes: list[set[str]] = []
        self.last_saved_mutation: list[int] = []
        self.paths: list[Path | None] = [None] * len(DESKS)  # a crashed desk's copy
        self.crashes = 0

    # ------------------------------------------------------------ helpers

    def profile(self, i: int) -> str:
        return f"ex{self.n}-desk{i}"

    def open(self, i: int) -> CacheStore:
        store = open_cache(self.profile(i), path=self.paths[i])  # the profile's key
        user, team = DESKS[i]
        store.set_identity(user, team, "agent")
        return store

    def sync(self, i: int) -> SyncOutcome:
        [outcome] = self.sync_at_once(i)
        return outcome

    def sync_at_once(self, *desks: int) -> list[SyncOutcome]:
        """One sync_once of each desk, all running at the same time against the app."""
        reps = [
            Replicator(
                self.stores[i],
                "http://hotline.test",
                token=World.tokens[DESKS[i][0]],
                transport=self.transport,
                listen=False,
            )
            for i in desks
        ]

        async def run() -> list[SyncOutcome]:
            try:
                return list(await asyncio.gather(*(rep.sync_once() for rep in reps)))
            finally:
                for rep in reps:
                    await rep.aclose()

        return asyncio.run(run())

    def tickets_of(self, i: int) -> list[str]:
        return sorted(self.saved_tickets[i])

    # ------------------------------------------------------------ rules

    @initialize()
    def desks(self) -> None:
        for i in range(len(DESKS)):
            self.stores.append(self.open(i))
            self.saved_tickets.append(set())
            self.saved_notes.append(set())
            self.last_saved_mutation.append(0)

    @rule(i=st.integers(0, len(DESKS) - 1), red=st.booleans(), k=st.integers(0, 9999))
    def save_ticket(self, i: int, red: bool, k: int) -> None:
        saved = self.stores[i].create_ticket(
            fields(k, urgency="red" if red else "normal"), call_started_at=now()
        )
        self.saved_tickets[i].add(str(saved.ticket_id))
        self.last_saved_mutation[i] = saved.mutation_id

    @precondition(lambda self: any(self.saved_tickets))
    @rule(
        i=st.integers(0, len(DESKS) - 1),
        pick=st.integers(0, 10_000),
        body=st.text(alphabet="工单备注已回电abc 123", min_size=1, max_size=20).filter(str.strip),
    )
    def add_note(self, i: int, pick: int, body: str) -> None:
        # a desk notes one of ITS tickets, or one it pulled (same team: it may see them)
        visible = [
            t
            for t in sorted(set().union(*self.saved_tickets))
            if self.stores[i].get_ticket(t) is not None
        ]
        if not visible:
            return
        saved = self.stores[i].add_note(visible[pick % len(visible)], body)
        self.saved_notes[i].add(saved.entity_id)
        self.last_saved_mutation[i] = saved.mutation_id

    @precondition(lambda self: any(self.saved_tickets))
    @rule(
        i=st.integers(0, len(DESKS) - 1),
        pick=st.integers(0, 10_000),
        change=st.sampled_from(
            [
                {"address": "甲地址"},
                {"address": "乙地址"},
                {"district": "黄浦区"},
                {"account": "补充诉求"},
            ]
        ),
    )
    def edit_field(self, i: int, pick: int, change: dict[str, str]) -> None:
        visible = [
            t
            for t in sorted(set().union(*self.saved_tickets))
            if self.stores[i].get_ticket(t) is not None
        ]
        if visible:
            saved = self.stores[i].update_ticket(visible[pick % len(visible)], change)
            self.last_saved_mutation[i] = saved.mutation_id

    @precondition(lambda self: any(self.saved_tickets))
    @rule(
        i=st.integers(0, len(DESKS) - 1),
        pick=st.integers(0, 10_000),
        to=st.sampled_from(["dispatched", "closed", "evaluated"]),
    )
    def move(self, i: int, pick: int, to: str) -> None:
        mine = self.tickets_of(i)
        if mine:  # may be refused by the server's state machine: then it needs attention
            saved = self.stores[i].change_status(mine[pick % len(mine)], to)
            self.last_saved_mutation[i] = saved.mutation_id

    @rule(i=st.integers(0, len(DESKS) - 1), faults=FAULTS)
    def sync_with_faults(self, i: int, faults: list[str]) -> None:
        self.transport.plan.extend(faults)
        self.sync(i)
        self.transport.plan.clear()

    @rule(i=st.integers(0, len(DESKS) - 1), j=st.integers(0, len(DESKS) - 2), faults=FAULTS)
    def two_desks_sync_at_once(self, i: int, j: int, faults: list[str]) -> None:
        """Two desks push and pull at the same moment (two of them may be one user's)."""
        j = j if j < i else j + 1  # another desk
        self.transport.plan.extend(faults)
        self.sync_at_once(i, j)
        self.transport.plan.clear()

    @rule(i=st.integers(0, len(DESKS) - 1))
    def desk_crashes(self, i: int) -> None:
        """The desk process dies between two transactions: what is on disk is the database
        file and its WAL as they are NOW, with the connection still open (no checkpoint, no
        clean close). The desk starts again from a copy of exactly those bytes."""
        old = self.stores[i]
        self.crashes += 1
        crashed = old.path.with_name(f"{old.path.stem}-crash{self.crashes}{old.path.suffix}")
        wal = Path(f"{old.path}-wal")
        shutil.copyfile(old.path, crashed)
        if wal.exists():
            shutil.copyfile(wal, f"{crashed}-wal")
        old.close()  # (the dead process's file is never used again)
        self.paths[i] = crashed
        self.stores[i] = self.open(i)
        assert self.stores[i].recovery is None

    @rule()
    def server_restarts(self) -> None:
        self.app = make_app(World.database_url)
        self.transport.inner = httpx.ASGITransport(app=self.app)

    # ------------------------------------------------------------ invariants

    @invariant()
    def every_returned_save_is_kept(self) -> None:
        for i, store in enumerate(self.stores):
            for tid in self.saved_tickets[i]:
                assert store.get_ticket(tid) is not None, f"desk {i} lost ticket {tid}"
            meta = store.sync_meta()
            pending = [m.mutation_id for m in store.outbox(limit=100_000)]
            # every saved mutation is either still queued or covered by the server's word
            assert pending == list(range(meta.last_acked_mutation_id + 1, meta.next_mutation_id))
            assert self.last_saved_mutation[i] < meta.next_mutation_id

    @invariant()
    def the_server_has_nothing_twice_or_unknown(self) -> None:
        engine = self.app.state.engine
        with engine.connect() as conn:
            twice = conn.execute(
                sa.text(
                    "SELECT client_id, mutation_id, ticket_id, action FROM ticket_history"
                    " WHERE mutation_id IS NOT NULL GROUP BY client_id, mutation_id, ticket_id,"
                    " action HAVING count(*) > 1"
                )
            ).all()
        assert twice == []

    def teardown(self) -> None:
        if not self.stores:
            return
        try:
            self.transport.plan.clear()
            for _ in range(2):  # heal: everyone drains, then everyone pulls the rest
                for i in range(len(self.stores)):
                    assert self.sync(i) in (SyncOutcome.DONE, SyncOutcome.REJECTED)
            self.check_converged()
        finally:
            for store in self.stores:
                store.close()

    def check_converged(self) -> None:
        engine = self.app.state.engine
        all_tickets = set().union(*self.saved_tickets)
        all_notes = set().union(*self.saved_notes)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM tickets")).mappings().all()
            server = {r["id"]: dict(r) for r in rows if r["id"] in all_tickets}
            notes = {r[0]: r[1] for r in conn.execute(sa.text("SELECT id, ticket_id FROM notes"))}
            results = conn.execute(
                sa.text(
                    "SELECT client_id, count(*), max(mutation_id) FROM sync_results"
                    " GROUP BY client_id"
                )
            ).all()
            refused = conn.execute(
                sa.text(
                    "SELECT client_id, mutation_id FROM sync_results WHERE outcome = 'rejected'"
                )
            ).all()
        per_client = {r[0]: (r[1], r[2]) for r in results}
        # every saved ticket and note is on the server exactly once (ids are primary keys)
        assert set(server) == all_tickets
        assert all_notes <= set(notes)
        for i, store in enumerate(self.stores):
            meta = store.sync_meta()
            assert store.outbox() == []
            assert store.integrity_check() == "ok"
            # every mutation got exactly one outcome on the server: no gap, no repeat
            count, top = per_client.get(meta.client_id, (0, 0))
            assert count == (top or 0) == meta.next_mutation_id - 1
            # nothing dropped silently: every refusal is kept for the agent, with its reason
            rejected = {a.mutation_id for a in store.needs_attention() if a.kind == "rejected"}
            assert rejected == {m for c, m in refused if c == meta.client_id}
            assert all(a.reason for a in store.needs_attention())
            for tid, row in server.items():
                local = store.get_ticket(tid)
                assert local is not None, f"desk {i} misses {tid} after healing"
                for name in ("number", "revision", "status", "address", "account"):
                    assert local.data.get(name) == row[name], (i, tid, name)
            local_notes = {n.id for t in server for n in store.notes(t)}
            assert local_notes == {n for n, t in notes.items() if t in server}


@pytest.mark.slow
def test_sync_invariants_hold_under_faults_and_crashes(tmp_path: Path) -> None:
    World.database_url = f"sqlite:///{tmp_path / 'server.db'}"
    World.workdir = tmp_path
    prepare_database(World.database_url, {"alice": ("agent", "east"), "bob": ("agent", "east")})
    app = make_app(World.database_url)

    async def login() -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hotline.test"
        ) as client:
            for user in ("alice", "bob"):
                r = await client.post(
                    "/api/v1/auth/login", json={"username": user, "password": PASSWORD}
                )
                assert r.status_code == 200, r.text
                World.tokens[user] = r.json()["access_token"]

    asyncio.run(login())
    run_state_machine_as_test(
        SyncMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
