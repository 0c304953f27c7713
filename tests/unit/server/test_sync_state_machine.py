"""A Hypothesis state machine drives push/pull against the real app (in process, real
SQLite file) and checks SYNC.md's invariants after every step:

- every mutation a client sends is decided exactly once (applied or rejected), however often
  and in whatever overlapping batches it is re-sent; a batch with a gap changes nothing;
- ``last_mutation_id`` only grows and never passes what the client has sent;
- pulls deliver each change once, in seq order; a client that pulled everything holds
  exactly the server's tickets (convergence), and each applied create is one ticket.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from hotline.ids import uuid7
from hotline_server.app import create_app
from hotline_server.db.migrate import upgrade
from hotline_server.settings import Settings
from hotline_server.users import add_user

PASSWORD = "correct horse battery"
_app: dict[str, Any] = {}
_ticks = itertools.count()


def http(tmp: Path) -> TestClient:
    """One migrated database and app for the whole run: examples use fresh client ids."""
    if "client" not in _app:
        url = f"sqlite:///{tmp / 'state-machine.db'}"
        upgrade(url)
        for name in ("amy", "bob"):
            add_user(url, name, PASSWORD, "agent")
        client = TestClient(create_app(Settings.from_env(url), live=False))
        _app["client"] = client
        _app["tokens"] = {
            name: client.post(
                "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
            ).json()["access_token"]
            for name in ("amy", "bob")
        }
    return _app["client"]  # type: ignore[no-any-return]


def now() -> str:
    return (datetime.now(UTC) - timedelta(seconds=next(_ticks) % 60)).isoformat()


class Desk:
    def __init__(self, user: str) -> None:
        self.user = user
        self.client_id = uuid7()
        self.outbox: list[dict[str, Any]] = []  # every mutation ever made, in id order
        self.acked = 0  # last_mutation_id as the server told us
        self.decided: dict[int, str] = {}  # mutation_id -> applied | rejected (first answer)
        self.cursor = 0
        self.replica: dict[str, dict[str, Any]] = {}
        self.seen_seqs: list[int] = []


class SyncMachine(RuleBasedStateMachine):
    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self.http = http(_app["tmp"])
        self.desks = {"amy": Desk("amy"), "bob": Desk("bob")}
        self.created: set[str] = set()  # ticket ids whose create was applied
        for user, desk in self.desks.items():
            desk.cursor = self._head(user)

    def _head(self, user: str) -> int:
        """Where the change log stands: earlier examples' changes (one database serves the
        run) are history a new desk starts after, or small-page pulls grow with every run."""
        cursor = 0
        for _ in range(1000):
            body = self.http.get("/api/v1/sync/pull", headers=self.h(user),
                                 params={"cursor": cursor, "limit": 500}).json()  # fmt: skip
            cursor = int(body["cursor"])
            if not body["has_more"]:
                break
        return cursor

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {_app['tokens'][user]}"}

    def add(self, desk: Desk, name: str, args: dict[str, Any]) -> None:
        desk.outbox.append({"mutation_id": len(desk.outbox) + 1, "name": name, "args": args,
                            "client_time": now()})  # fmt: skip

    @initialize(target=tickets)
    def first_ticket(self) -> str:
        return self._create("amy", "13800138000")

    def _create(self, user: str, phone: str) -> str:
        tid = uuid7()
        self.add(self.desks[user], "create_ticket", {
            "id": tid, "call_started_at": now(), "created_at": now(), "phone": phone,
            "account": "来电咨询", "caller_name": "张三"})  # fmt: skip
        return tid

    @rule(target=tickets, user=st.sampled_from(["amy", "bob"]),
          phone=st.sampled_from(["13800138000", "021-64370000", "12", ""]))  # fmt: skip
    def create(self, user: str, phone: str) -> str:
        return self._create(user, phone)  # "12" and "" are poison: rejected, never blocking

    @rule(user=st.sampled_from(["amy", "bob"]), ticket=tickets,
          field=st.sampled_from(["address", "promise", "community"]),
          value=st.sampled_from(["一号", "二号", "三号"]), base=st.integers(0, 4))  # fmt: skip
    def update(self, user: str, ticket: str, field: str, value: str, base: int) -> None:
        self.add(
            self.desks[user],
            "update_ticket",
            {"ticket_id": ticket, "base_revision": base, "changes": {field: value}},
        )

    @rule(
        user=st.sampled_from(["amy", "bob"]),
        ticket=tickets,
        to=st.sampled_from(["dispatched", "handling", "closed", "evaluated", "replied"]),
    )
    def status(self, user: str, ticket: str, to: str) -> None:
        self.add(self.desks[user], "change_status",
                 {"ticket_id": ticket, "to": to, "base_revision": 1})  # fmt: skip

    @rule(user=st.sampled_from(["amy", "bob"]), ticket=tickets)
    def note(self, user: str, ticket: str) -> None:
        self.add(self.desks[user], "add_note", {"ticket_id": ticket, "note_id": uuid7(),
                                                "body": "回访", "created_at": now()})  # fmt: skip

    @rule(user=st.sampled_from(["amy", "bob"]), back=st.integers(0, 3), size=st.integers(1, 6),
          lose_answer=st.booleans())  # fmt: skip
    def push(self, user: str, back: int, size: int, lose_answer: bool) -> None:
        """Send from up to ``back`` already-acknowledged mutations on (a retry overlaps)."""
        desk = self.desks[user]
        start = max(0, desk.acked - back)
        batch = desk.outbox[start : start + size]
        if not batch:
            return
        before = self.server_last(desk)
        r = self.http.post("/api/v1/sync/push", headers=self.h(user),
                           json={"client_id": desk.client_id, "mutations": batch})  # fmt: skip
        assert r.status_code == 200, r.text
        if lose_answer:
            return  # the desk never hears; its next pull or push tells it the outcome
        body = r.json()
        assert body["last_mutation_id"] == max(before, batch[-1]["mutation_id"])
        for result in body["results"]:
            mid = result["mutation_id"]
            if mid <= before:
                assert result["outcome"] == "duplicate"
            else:
                assert mid not in desk.decided
                desk.decided[mid] = result["outcome"]
                self._learn(desk, mid, result["outcome"])
        desk.acked = body["last_mutation_id"]

    def _learn(self, desk: Desk, mid: int, outcome: str) -> None:
        m = desk.outbox[mid - 1]
        if m["name"] == "create_ticket" and outcome == "applied":
            self.created.add(m["args"]["id"])

    @rule(user=st.sampled_from(["amy", "bob"]), skip=st.integers(2, 4))
    def push_with_gap(self, user: str, skip: int) -> None:
        desk = self.desks[user]
        before = self.server_last(desk)
        batch = desk.outbox[before + skip - 1 : before + skip + 1]
        if not batch:
            return
        r = self.http.post("/api/v1/sync/push", headers=self.h(user),
                           json={"client_id": desk.client_id, "mutations": batch})  # fmt: skip
        assert r.status_code == 409 and r.json()["error"] == "gap"
        assert self.server_last(desk) == before

    def server_last(self, desk: Desk) -> int:
        r = self.http.get("/api/v1/sync/pull", headers=self.h(desk.user),
                          params={"cursor": 2**61, "client_id": desk.client_id})  # fmt: skip
        return int(r.json()["last_mutation_id"])

    @rule(user=st.sampled_from(["amy", "bob"]), limit=st.integers(1, 5))
    def pull(self, user: str, limit: int) -> None:
        desk = self.desks[user]
        for _ in range(500):
            r = self.http.get("/api/v1/sync/pull", headers=self.h(user),
                              params={"cursor": desk.cursor, "limit": limit,
                                      "client_id": desk.client_id})  # fmt: skip
            body = r.json()
            for change in body["changes"]:
                assert change["seq"] > desk.cursor
                desk.seen_seqs.append(change["seq"])
                if change["entity"] == "ticket":
                    desk.replica[change["entity_id"]] = change["data"]
            assert body["cursor"] >= desk.cursor
            desk.cursor = body["cursor"]
            desk.acked = max(desk.acked, body["last_mutation_id"])
            if not body["has_more"]:
                return

    @invariant()
    def each_change_once_in_order(self) -> None:
        for desk in self.desks.values():
            assert desk.seen_seqs == sorted(set(desk.seen_seqs))
            assert desk.acked <= len(desk.outbox)

    def teardown(self) -> None:
        """Drain every outbox and pull: both desks converge to the server."""
        for desk in self.desks.values():
            for _ in range(200):
                last = self.server_last(desk)
                if last >= len(desk.outbox):
                    break
                self.push(desk.user, back=0, size=50, lose_answer=False)
            assert self.server_last(desk) == len(desk.outbox)
        for user, desk in self.desks.items():
            self.pull(user, limit=50)
            r = self.http.get("/api/v1/tickets", headers=self.h(user), params={"limit": 500})
            mine = {t["id"]: t for t in r.json()["tickets"] if t["id"] in desk.replica}
            for tid, data in desk.replica.items():
                assert mine[tid]["revision"] == data["revision"], tid
        for tid in self.created:
            r = self.http.get(f"/api/v1/tickets/{tid}/history", headers=self.h("amy"))
            assert [e["action"] for e in r.json()["entries"]].count("create") == 1


@pytest.fixture(scope="module")
def machine_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    _app.clear()
    _app["tmp"] = tmp_path_factory.mktemp("machine")
    yield _app["tmp"]
    client = _app.get("client")
    if client is not None:
        client.close()
    _app.clear()


def test_sync_invariants_hold(machine_dir: Path) -> None:
    SyncMachine.TestCase.settings = settings(
        max_examples=30, stateful_step_count=25, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )  # fmt: skip
    SyncMachine.TestCase().runTest()
