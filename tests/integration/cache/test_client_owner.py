"""Issue 12: a client id belongs to the user who first used it (real server, both databases,
the real replicator and encrypted caches).

An agent who pushes under another desk's client id must not use up that desk's mutation
ids (its next ticket would be answered ``duplicate`` and lost) nor read its answers; the
conflict data other desks pull must not show a desk's client id (the key to its sync).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from alembic import command

from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import _config, upgrade
from hotline_server.db.schema import sync_clients, sync_results
from offline_cache import LinkState, Replicator, SyncOutcome
from tests.integration.cache.conftest import (
    Desk,
    Hotline,
    assert_applied_once,
    assert_converged,
    fields,
    now,
    server_tickets,
    sync_client_row,
)


def _create(mutation_id: int, i: int) -> dict[str, Any]:
    at = datetime.now(UTC).isoformat()
    args = {**fields(i), "id": str(uuid.uuid4()), "call_started_at": at, "created_at": at}
    return {"mutation_id": mutation_id, "name": "create_ticket", "args": args, "client_time": at}


def _push(h: Hotline, user: str, client_id: str, mutations: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        h.url + "/api/v1/sync/push",
        json={"client_id": client_id, "mutations": mutations},
        headers={"Authorization": f"Bearer {h.token(user)}"},
        timeout=30,
    )


def _pull(h: Hotline, user: str, client_id: str | None) -> httpx.Response:
    params: dict[str, Any] = {"cursor": 0, "limit": 1000}
    if client_id is not None:
        params["client_id"] = client_id
    return httpx.get(
        h.url + "/api/v1/sync/pull",
        params=params,
        headers={"Authorization": f"Bearer {h.token(user)}"},
        timeout=30,
    )


def _refused(r: httpx.Response) -> None:
    """403 with the field named and a sentence, never a traceback or SQL."""
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["error"] == "client_not_yours"
    assert [f["field"] for f in body["fields"]] == ["client_id"]
    assert "client_id" in body["message"]
    for leak in ("Traceback", "SELECT", "INSERT", "sync_clients"):
        assert leak not in r.text


async def test_a_push_under_another_desks_client_id_is_refused_and_its_tickets_still_arrive(
    hotline_any: Hotline,
) -> None:
    h = hotline_any
    alice = h.desk("alice")
    first = str(alice.store.create_ticket(fields(1), call_started_at=now()).ticket_id)
    assert await alice.sync() == SyncOutcome.DONE
    victim = alice.store.client_id
    # bob pushes the victim's next mutation ids under its client id
    attack = [_create(2, 90), _create(3, 91)]
    _refused(_push(h, "bob", victim, attack))
    assert sync_client_row(h, victim) == ("alice", 1)  # no mutation id used up
    on_server = server_tickets(h)
    assert {m["args"]["id"] for m in attack}.isdisjoint(on_server)  # nothing applied
    # the victim's desk saves its next ticket (mutation 2): it arrives, not as a duplicate
    second = str(alice.store.create_ticket(fields(2), call_started_at=now()).ticket_id)
    assert await alice.sync() == SyncOutcome.DONE
    tickets = server_tickets(h)
    assert {first, second} <= set(tickets)
    assert tickets[second]["created_by"] == "alice" and tickets[second]["caller_name"] == "市民2"
    assert alice.store.needs_attention() == []
    # bob cannot read the victim's answers or its acknowledged mutation id either
    _refused(_pull(h, "bob", victim))
    _refused(_push(h, "bob", victim, [_create(1, 92)]))  # a replay of mutation 1's answer
    assert sync_client_row(h, victim) == ("alice", 2)
    assert_converged(h, alice)
    assert_applied_once(h)
    await alice.close()


async def test_conflict_data_shows_no_other_desks_client_id(hotline_any: Hotline) -> None:
    h = hotline_any
    alice, bob, lee = h.desk("alice"), h.desk("bob"), h.desk("lee")
    tid = str(alice.store.create_ticket(fields(3), call_started_at=now()).ticket_id)
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE
    alice.store.update_ticket(tid, {"address": "A 地址"})
    bob.store.update_ticket(tid, {"address": "B 地址"})
    assert await alice.sync() == SyncOutcome.DONE
    assert await bob.sync() == SyncOutcome.DONE  # later by server order: alice's value lost
    alice_id, bob_id = alice.store.client_id, bob.store.client_id
    for user, desk in (("bob", bob), ("lee", lee)):
        seen = _pull(h, user, desk.store.client_id)
        assert seen.status_code == 200, seen.text
        assert "lost_values" in seen.text  # the conflict itself is shown ...
        assert alice_id not in seen.text  # ... but never the losing desk's client id
    assert alice_id not in _pull(h, "lee", None).text  # nor to a pull without a client id
    own = _pull(h, "alice", alice_id)
    assert own.status_code == 200 and bob_id not in own.text
    # the desk that lost still recognises its own loss and shows both values
    assert await alice.sync() == SyncOutcome.DONE
    [lost] = alice.store.needs_attention()
    assert lost.kind == "conflict" and lost.conflict is not None
    assert lost.conflict["address"]["mine"] == "A 地址"
    assert lost.conflict["address"]["theirs"] == "B 地址"
    assert await lee.sync() == SyncOutcome.DONE
    assert lee.store.needs_attention() == []
    assert_converged(h, alice, bob, lee)
    for d in (alice, bob, lee):
        await d.close()


async def test_a_cache_shared_by_two_users_keeps_its_outbox_until_its_owner_signs_in(
    hotline_any: Hotline,
) -> None:
    """bob signs in on alice's desk (same cache, same client id) while a ticket waits in its
    outbox: his replicator is refused, shows ``wrong_user`` with the server's reason and
    keeps every queued ticket (sending them as bob would put alice's work under his name);
    alice signing in again sends them."""
    h = hotline_any
    alice = h.desk("alice")
    alice.store.create_ticket(fields(4), call_started_at=now())
    assert await alice.sync() == SyncOutcome.DONE
    await alice.rep.aclose()
    queued = str(alice.store.create_ticket(fields(5), call_started_at=now()).ticket_id)
    rep = Replicator(alice.store, h.url, token=h.token("bob"), listen=False,
                     request_timeout=5.0, connect_timeout=2.0)  # fmt: skip
    try:
        assert await rep.sync_once() == SyncOutcome.WRONG_USER
        snap = rep.snapshot()
        assert snap.state == LinkState.WRONG_USER and snap.outbox_size == 1
        assert snap.last_error and "client_id" in snap.last_error
        assert queued not in server_tickets(h)
        assert len(alice.store.outbox()) == 1 and alice.store.needs_attention() == []
        rep.set_token(h.token("alice"))
        assert await rep.sync_once() == SyncOutcome.DONE
    finally:
        await rep.aclose()
    assert server_tickets(h)[queued]["created_by"] == "alice"
    assert_converged(h, alice)
    alice.store.close()


async def test_the_next_user_of_a_synced_cache_gets_a_client_id_of_their_own(
    hotline_any: Hotline,
) -> None:
    """Shift change at one desk: alice's cache holds nothing unsent when carol (another team)
    signs in there. The server refuses alice's client id to carol; the cache takes a new one
    (from mutation 1) and refetches: carol's tickets arrive as hers, alice's id stays alice's,
    and the cache holds what carol may see, not alice's team's tickets."""
    h = hotline_any
    alice = h.desk("alice")
    hers = str(alice.store.create_ticket(fields(6), call_started_at=now()).ticket_id)
    assert await alice.sync() == SyncOutcome.DONE
    await alice.rep.aclose()
    old = alice.store.client_id
    rep = Replicator(alice.store, h.url, token=h.token("carol"), listen=False,
                     request_timeout=5.0, connect_timeout=2.0)  # fmt: skip
    carol = Desk("carol", alice.store, rep)
    try:
        alice.store.set_identity("carol", "west", "agent")
        assert await carol.sync() == SyncOutcome.DONE
        new = alice.store.client_id
        assert new != old and alice.store.sync_meta().last_acked_mutation_id == 0
        assert alice.store.get_ticket(hers) is None  # alice's team's ticket left the cache
        tid = str(alice.store.create_ticket(fields(7), call_started_at=now()).ticket_id)
        assert await carol.sync() == SyncOutcome.DONE
        assert rep.snapshot().state == LinkState.ONLINE
        assert server_tickets(h)[tid]["created_by"] == "carol"
        assert sync_client_row(h, old) == ("alice", 1)
        assert sync_client_row(h, new) == ("carol", 1)
        assert alice.store.needs_attention() == []
        assert_converged(h, carol)
    finally:
        await carol.close()


def _first_uses(h: Hotline, client_id: str, alice_pushes: bool, i: int) -> dict[str, int]:
    """alice and bob use a new client id at the same moment (bob pushes; alice pushes or
    pulls): their answers' status codes."""
    tokens = {u: h.token(u) for u in ("alice", "bob")}
    barrier = threading.Barrier(2, timeout=30)
    answers: dict[str, int] = {}

    def first_use(user: str, by_push: bool) -> None:
        with httpx.Client(base_url=h.url, timeout=30) as c:
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            barrier.wait()
            if by_push:
                r = c.post("/api/v1/sync/push", headers=headers,
                           json={"client_id": client_id, "mutations": [_create(1, i)]})  # fmt: skip
            else:
                r = c.get("/api/v1/sync/pull", headers=headers,
                          params={"cursor": 0, "client_id": client_id})  # fmt: skip
        answers[user] = r.status_code

    threads = [
        threading.Thread(target=first_use, args=("alice", alice_pushes)),
        threading.Thread(target=first_use, args=("bob", True)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


def test_two_first_uses_of_one_client_id_by_two_users_exactly_one_wins(
    hotline_any: Hotline,
) -> None:
    for round_ in range(6):
        client_id = str(uuid.uuid4())
        answers = _first_uses(hotline_any, client_id, round_ % 2 == 0, round_)
        assert sorted(answers.values()) == [200, 403], answers
        [winner] = [u for u, status in answers.items() if status == 200]
        row = sync_client_row(hotline_any, client_id)
        assert row is not None and row[0] == winner


def test_upgrade_binds_existing_client_ids_to_their_first_user(database_url: str) -> None:
    """A database from before 0003_client_owner: ``sync_clients.username`` named the last
    pusher. After the upgrade it names the user of the earliest mutation; an id that never
    had a mutation is free to be claimed."""
    engine = make_engine(database_url)
    at = datetime.now(UTC)
    shared, empty = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), "0002_live")
            conn.execute(
                sa.insert(sync_clients),
                [
                    {"client_id": cid, "username": "bob", "last_mutation_id": last,
                     "created_at": at, "updated_at": at}
                    for cid, last in ((shared, 2), (empty, 0))
                ],
            )  # fmt: skip
            conn.execute(
                sa.insert(sync_results),
                [
                    {"client_id": shared, "mutation_id": mid, "name": "create_ticket",
                     "outcome": "applied", "result": {}, "username": user, "at": at}
                    for mid, user in ((2, "bob"), (1, "alice"))
                ],
            )  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT client_id, username, last_mutation_id FROM sync_clients")
            ).all()
    finally:
        engine.dispose()
    assert {(r[0], r[1], int(r[2])) for r in rows} == {(shared, "alice", 2)}
