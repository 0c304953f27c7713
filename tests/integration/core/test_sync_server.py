"""SYNC.md push/pull against a real server process, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import httpx

from tests.integration.core.conftest import Api, client_id, mutation, ticket_args


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
    changes = api.pull_all("bob", cid)  # no teams configured: every agent sees it
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
    cid = client_id()
    args = ticket_args()
    batch = [mutation(1, "create_ticket", args)]
    # the answer is lost; the server may or may not have applied it yet
    with (
        api.client("amy", timeout=httpx.Timeout(5, read=0.001)) as c,
        contextlib.suppress(httpx.ReadTimeout),
    ):
        c.post("/api/v1/sync/push", json={"client_id": cid, "mutations": batch})
    retry = api.push("amy", cid, batch)
    assert retry.status_code == 200
    assert retry.json()["last_mutation_id"] == 1
    with api.client("amy") as c:
        history = c.get(f"/api/v1/tickets/{args['id']}/history").json()
    assert [e["action"] for e in history["entries"]] == ["create"]


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
