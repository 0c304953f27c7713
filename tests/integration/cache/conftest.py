"""The real server process, desks (an encrypted cache + a replicator each) and the checks of
SYNC.md's invariants, read from the server's real database and the desks' real caches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from offline_cache import CacheStore, Replicator, SyncOutcome, open_cache
from tests.support.server import RunningServer
from tests.support.server import prepare_database as migrate_and_add_users

PASSWORD = "correct horse battery"
# alice and bob share a team so both see (and may edit) each other's tickets.
USERS = {
    "alice": ("agent", "east"),
    "bob": ("agent", "east"),
    "carol": ("agent", "west"),
    "lee": ("lead", "east"),
}


def prepare_database(database_url: str, users: dict[str, tuple[str, str]] = USERS) -> None:
    """Migrate and add ``users`` {name: (role, team)}, all with PASSWORD."""
    with_password = {name: (role, PASSWORD, team) for name, (role, team) in users.items()}
    migrate_and_add_users(database_url, with_password)


@dataclass
class Hotline:
    """A running server and what the tests need to talk to it and look inside it."""

    server: RunningServer
    database_url: str
    workdir: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, user: str) -> str:
        if user not in self.tokens:
            r = httpx.post(
                self.url + "/api/v1/auth/login",
                json={"username": user, "password": PASSWORD},
                timeout=30,
            )
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["access_token"]
        return self.tokens[user]

    def desk(
        self, user: str, profile: str | None = None, *, via: str | None = None, **kw: Any
    ) -> Desk:
        """A desk for ``user``: its own cache file (profile) and a replicator to the server
        (or ``via`` a fault proxy)."""
        store = open_cache(profile or f"{user}-desk")
        role, team = USERS.get(user, ("agent", None))
        store.set_identity(user, team, role)
        options: dict[str, Any] = {
            "listen": False,
            "request_timeout": 5.0,
            "connect_timeout": 2.0,
            "backoff_cap": 0.5,
            "pull_interval": 0.5,
        }
        options.update(kw)
        rep = Replicator(store, via or self.url, token=self.token(user), **options)
        return Desk(user, store, rep)

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.database_url, poolclass=sa.NullPool)


@dataclass
class Desk:
    user: str
    store: CacheStore
    rep: Replicator

    async def sync(self) -> SyncOutcome:
        return await self.rep.sync_once()

    async def drain(self, attempts: int = 30) -> SyncOutcome:
        """sync_once until it is done (bounded): for a link that just healed."""
        outcome = SyncOutcome.OFFLINE
        for _ in range(attempts):
            outcome = await self.rep.sync_once()
            if outcome in (SyncOutcome.DONE, SyncOutcome.REJECTED):
                return outcome
        return outcome

    async def close(self) -> None:
        await self.rep.aclose()
        self.store.close()


def start_hotline(database_url: str, workdir: Path, **env: str) -> Hotline:
    prepare_database(database_url)
    server = RunningServer(
        database_url=database_url,
        log_path=workdir / "server.log",
        extra_env={"HOTLINE_LIVE_HEARTBEAT_SECONDS": "1", **env},
    )
    server.start()
    return Hotline(server, database_url, workdir)


@pytest.fixture
def hotline(sqlite_url: str, tmp_path: Path) -> Iterator[Hotline]:
    h = start_hotline(sqlite_url, tmp_path)
    try:
        yield h
    finally:
        h.server.kill()


@pytest.fixture
def hotline_any(database_url: str, tmp_path: Path) -> Iterator[Hotline]:
    """The same, once on SQLite and once on PostgreSQL."""
    h = start_hotline(database_url, tmp_path)
    try:
        yield h
    finally:
        h.server.kill()


# ---------------------------------------------------------------- invariants


def server_tickets(h: Hotline) -> dict[str, dict[str, Any]]:
    engine = h.engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM tickets")).mappings().all()
    finally:
        engine.dispose()
    return {r["id"]: dict(r) for r in rows}


def server_notes(h: Hotline) -> dict[str, dict[str, Any]]:
    engine = h.engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM notes")).mappings().all()
    finally:
        engine.dispose()
    return {r["id"]: dict(r) for r in rows}


def sync_client_row(h: Hotline, client_id: str) -> tuple[str, int] | None:
    """The server's record of a desk's client id: whose it is and its last mutation id."""
    engine = h.engine()
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT username, last_mutation_id FROM sync_clients WHERE client_id = :c"),
                {"c": client_id},
            ).first()
    finally:
        engine.dispose()
    return (row[0], int(row[1])) if row else None


def cache_query_only(store: CacheStore, on: bool) -> None:
    """The cache's connection refuses every write, as a disk gone read-only does."""
    with store._lock:
        store._conn.execute(f"PRAGMA query_only={1 if on else 0}")


def assert_applied_once(h: Hotline) -> None:
    """No mutation's effect is in the server twice: one history entry per (client, mutation,
    ticket, action); one sync result per (client, mutation)."""
    engine = h.engine()
    try:
        with engine.connect() as conn:
            twice = conn.execute(
                sa.text(
                    "SELECT client_id, mutation_id, ticket_id, action, count(*) FROM"
                    " ticket_history WHERE mutation_id IS NOT NULL GROUP BY client_id,"
                    " mutation_id, ticket_id, action HAVING count(*) > 1"
                )
            ).all()
    finally:
        engine.dispose()
    assert twice == []


def local_state(store: CacheStore) -> tuple[dict[str, dict[str, Any]], set[str]]:
    conn = store._conn
    with store._lock:
        tickets = {r[0]: json.loads(r[1]) for r in conn.execute("SELECT id, data FROM ticket_docs")}
        notes = {r[0] for r in conn.execute("SELECT id FROM notes")}
    return tickets, notes


COMPARED = ("number", "revision", "status", "caller_name", "phone", "address", "account")


def assert_converged(h: Hotline, *desks: Desk) -> None:
    """Every desk's outbox is empty and its cache holds exactly the server's tickets (those its
    user may see) with the same values; the cache file is sound."""
    tickets = server_tickets(h)
    notes = server_notes(h)
    for desk in desks:
        assert desk.store.outbox() == [], f"{desk.user}: outbox not empty"
        assert desk.store.integrity_check() == "ok"
        local, local_notes = local_state(desk.store)
        role, team = USERS[desk.user]
        visible = {
            tid: t
            for tid, t in tickets.items()
            if role != "agent" or t["team"] == team or t["created_by"] == desk.user
        }
        assert set(local) == set(visible), f"{desk.user}: ticket sets differ"
        for tid, server in visible.items():
            for name in COMPARED:
                assert local[tid].get(name) == server[name], (desk.user, tid, name)
        assert local_notes == {nid for nid, n in notes.items() if n["ticket_id"] in visible}


def fields(i: int, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "caller_name": f"市民{i}",
        "phone": f"1380013{i % 10000:04d}",
        "address": f"黄浦区人民路{i}号",
        "district": "黄浦区",
        "kind": "help",
        "category": "water",
        "account": f"第{i}号诉求：小区停水",
    }
    data.update(extra)
    return data


def now() -> datetime:
    return datetime.now(UTC)
