"""SYNC.md push/pull against a real server process, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.integration.core.conftest import Api, client_id, mutation, ticket_args
from tests.support.faultproxy import Fault, FaultProxy


def tickets_in(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["entity_id"]: c["data"] for c in changes if c["entity"] == "ticket"}


def test_login_push_pull(api: Api) -> None:
    cid = client_id()
    args = ticket_args()
    r = api.push("amy", cid, [mutation(1, "create_ticket", args)])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["last_mutation_id"] == 1
    [result] = body["results"]
    assert result["outcome"] == "applied"
    assert result["ticket_number"].count("-") == 1 and len(result["ticket_number"]) == 15
    changes = api.pull_all("bob", client_id())  # no teams configured: every agent sees it
    ticket = tickets_in(changes)[args["id"]]
    assert ticket["number"] == result["ticket_number"]
    assert ticket["call_started_at"][:19] == args["call_started_at"][:19]  # the desk's time
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(set(seqs))
    with api.client("amy") as c:
        pulled = c.get("/api/v1/sync/pull", params={"cursor": 0, "client_id": cid}).json()
    assert pulled["last_mutation_id"] == 1 and pulled["epoch"]


def test_same_push_twice_and_concurrently_applies_once(api: Api) -> None:
    cid = client_id()
    batch = [mutation(i + 1, "create_ticket", ticket_args()) for i in range(5)]
    answers: list[httpx.Response] = []

    def send() -> None:
        answers.append(api.push("amy", cid, batch))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    answers.append(api.push("amy", cid, batch))  # and once more, after all of them
    assert [a.status_code for a in answers] == [200] * 4
    applied = [r for a in answers for r in a.json()["results"] if r["outcome"] == "applied"]
    assert len(applied) == 5  # each mutation applied by exactly one of the requests
    assert {a.json()["last_mutation_id"] for a in answers} == {5}
    ids = [m["args"]["id"] for m in batch]
    pulled = tickets_in(api.pull_all("lee"))
    assert set(ids) <= set(pulled)
    with api.client("lee") as c:
        listed = c.get("/api/v1/tickets", params={"limit": 500}).json()
    assert sorted(t["id"] for t in listed["tickets"] if t["id"] in ids) == sorted(ids)


def test_lost_answer_then_retry_applies_once(api: Api) -> None:
    """The server commits and answers, the proxy cuts the connection instead of passing the
    answer on (SYNC.md: a request applied but its answer lost); the retry is harmless."""
    cid = client_id()
    args = ticket_args()
    batch = [mutation(1, "create_ticket", args)]
    headers = {"Authorization": f"Bearer {api.token('amy')}"}
    with FaultProxy(target_port=api.server.port) as proxy:
        proxy.plan(Fault.DROP_RESPONSE)
        with (
            httpx.Client(base_url=proxy.url, headers=headers, timeout=30) as c,
            pytest.raises(httpx.TransportError),
        ):
            c.post("/api/v1/sync/push", json={"client_id": cid, "mutations": batch})
        assert proxy.counters.dropped == 1  # the server answered: its transaction committed
        # the server has it, asked directly (not through the proxy)
        with api.client("amy") as direct:
            pulled = direct.get("/api/v1/sync/pull", params={"cursor": 0, "client_id": cid})
        assert pulled.json()["last_mutation_id"] == 1
        committed = tickets_in(api.pull_all("amy"))[args["id"]]
        with httpx.Client(base_url=proxy.url, headers=headers, timeout=30) as c:
            retry = c.post("/api/v1/sync/push", json={"client_id": cid, "mutations": batch})
        assert proxy.counters.dropped == 1 and proxy.counters.responses == 2
    assert retry.status_code == 200, retry.text
    assert retry.json()["last_mutation_id"] == 1
    [result] = retry.json()["results"]
    assert result["outcome"] == "duplicate"
    assert result["ticket_number"] == committed["number"]  # the first answer, replayed
    with api.client("amy") as c:
        history = c.get(f"/api/v1/tickets/{args['id']}/history").json()
        listed = c.get("/api/v1/tickets", params={"text": committed["number"]}).json()
    assert [e["action"] for e in history["entries"]] == ["create"]
    assert [t["id"] for t in listed["tickets"]] == [args["id"]]


def test_gap_refused_and_poison_does_not_block(api: Api) -> None:
    cid = client_id()
    good = ticket_args()
    r = api.push("amy", cid, [mutation(2, "create_ticket", good)])
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "gap" and "1 is next" in body["message"]
    poison = ticket_args(phone="12")  # not a phone number
    batch = [
        mutation(1, "create_ticket", poison),
        mutation(2, "create_ticket", good),
        mutation(3, "change_status", {"ticket_id": good["id"], "to": "evaluated",
                                      "base_revision": 1}),
        mutation(4, "change_status", {"ticket_id": good["id"], "to": "dispatched",
                                      "base_revision": 1}),
    ]  # fmt: skip
    r = api.push("amy", cid, batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["outcome"] for x in results] == ["rejected", "applied", "rejected", "applied"]
    assert results[0]["field"] == "args.phone" and results[0]["reason"]
    assert "accepted" in results[2]["reason"] and "evaluated" in results[2]["reason"]
    assert r.json()["last_mutation_id"] == 4
    again = api.push("amy", cid, batch).json()["results"]
    assert [x["outcome"] for x in again] == ["duplicate"] * 4
    assert again[0]["field"] == "args.phone"  # the first answer's reason survives a retry
    pulled = tickets_in(api.pull_all("amy"))
    assert poison["id"] not in pulled
    assert pulled[good["id"]]["status"] == "dispatched"


def test_malformed_mutations_are_rejected_by_field_and_do_not_block(api: Api) -> None:
    """A mutation the server cannot read (unknown name, naive client_time, a field no
    mutation has, args not an object, no client_time) is rejected naming the field; its
    neighbours apply and last_mutation_id moves past it, so the outbox drains."""
    cid = client_id()
    first, last = ticket_args(), ticket_args()
    naive = {**mutation(3, "create_ticket", ticket_args()), "client_time": "2026-12-01T08:00:00"}
    no_time = mutation(6, "create_ticket", ticket_args())
    del no_time["client_time"]
    batch = [
        mutation(1, "create_ticket", first),
        mutation(2, "make_coffee", {"strength": "double"}),
        naive,
        {**mutation(4, "create_ticket", ticket_args()), "priority": "high"},
        {**mutation(5, "create_ticket", ticket_args()), "args": ["not", "an", "object"]},
        no_time,
        {**mutation(7, "create_ticket", ticket_args()), "schema_version": "one"},
        mutation(8, "x" * 200, {}),
        mutation(9, "create_ticket", last),
    ]
    r = api.push("amy", cid, batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["last_mutation_id"] == 9
    results = body["results"]
    assert [x["outcome"] for x in results] == ["applied"] + ["rejected"] * 7 + ["applied"]
    fields = [x["field"] for x in results[1:8]]
    assert fields == ["name", "client_time", "priority", "args", "client_time",
                      "schema_version", "name"]  # fmt: skip
    for x in results[1:8]:
        assert x["reason"].startswith(x["field"] + ":"), x
    again = api.push("amy", cid, batch).json()
    assert [x["outcome"] for x in again["results"]] == ["duplicate"] * 9
    assert [x["field"] for x in again["results"][1:8]] == fields
    pulled = tickets_in(api.pull_all("amy"))
    assert first["id"] in pulled and last["id"] in pulled
    assert not {m["args"]["id"] for m in (naive, no_time)} & set(pulled)
    # the next push goes on from 10: nothing waits behind the malformed ones
    nxt = api.push("amy", cid, [mutation(10, "create_ticket", ticket_args())]).json()
    assert nxt["last_mutation_id"] == 10 and nxt["results"][0]["outcome"] == "applied"


def test_a_batch_without_client_id_or_mutation_ids_is_unreadable(api: Api) -> None:
    good = mutation(1, "create_ticket", ticket_args())
    with api.client("amy") as c:
        r = c.post("/api/v1/sync/push", json={"mutations": [good]})
        assert r.status_code == 422
        assert [f["field"] for f in r.json()["fields"]] == ["client_id"]
        no_id = {k: v for k, v in good.items() if k != "mutation_id"}
        r = c.post("/api/v1/sync/push", json={"client_id": client_id(), "mutations": [no_id]})
        assert r.status_code == 422
        assert [f["field"] for f in r.json()["fields"]] == ["mutations.0.mutation_id"]


def test_concurrent_writers_and_a_continuous_puller_see_no_gap(api: Api) -> None:
    """Writers on many connections commit in any order; the puller must still see every
    change exactly once, in seq order, with no seq skipped (SYNC.md "Pull")."""
    writers, batches, per_batch = 8, 6, 3
    created: list[str] = []
    errors: list[str] = []
    done = threading.Event()

    def writer() -> None:
        cid = client_id()
        with api.client("amy") as c:
            for b in range(batches):
                muts = []
                for i in range(per_batch):
                    args = ticket_args()
                    created.append(args["id"])
                    muts.append(mutation(b * per_batch + i + 1, "create_ticket", args))
                r = c.post("/api/v1/sync/push", json={"client_id": cid, "mutations": muts})
                if r.status_code != 200 or any(
                    x["outcome"] != "applied" for x in r.json()["results"]
                ):
                    errors.append(r.text)

    seen: list[int] = []
    tickets_seen: set[str] = set()

    def puller() -> None:
        with api.client("lee") as c:
            cursor = c.get("/api/v1/sync/pull", params={"cursor": 0, "limit": 1}).json()["cursor"]
            cursor = max(0, cursor - 1)
            seen.clear()
            deadline = time.monotonic() + 120
            drained_after_done = False
            while time.monotonic() < deadline:
                body = c.get("/api/v1/sync/pull", params={"cursor": cursor, "limit": 7}).json()
                seen.extend(ch["seq"] for ch in body["changes"])
                tickets_seen.update(
                    ch["entity_id"] for ch in body["changes"] if ch["entity"] == "ticket"
                )
                cursor = body["cursor"]
                if done.is_set() and not body["has_more"]:
                    if drained_after_done:
                        return
                    drained_after_done = True

    pull_thread = threading.Thread(target=puller)
    pull_thread.start()
    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    pull_thread.join(timeout=150)
    assert not errors, errors[:3]
    assert len(created) == writers * batches * per_batch
    assert set(created) <= tickets_seen
    assert len(seen) == len(set(seen)), "a change was delivered twice"
    assert seen == list(range(seen[0], seen[0] + len(seen))), "a seq was skipped"
