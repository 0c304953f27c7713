"""Tickets through REST and push: idempotency keys, filters, history, conflicts, merge."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.core.conftest import Api, client_id, mutation, new_id, ticket_args


def create(api: Api, user: str, key: str | None, body: dict[str, Any]) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    with api.client(user) as c:
        return c.post("/api/v1/tickets", json=body, headers=headers)


def test_idempotency_key_replays_and_refuses_another_body(api: Api) -> None:
    body = ticket_args(phone="021-64370000")
    key = "key-" + new_id()
    first = create(api, "amy", key, body)
    assert first.status_code == 201, first.text
    again = create(api, "amy", key, body)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = create(api, "amy", key, {**body, "account": "另一件事"})
    assert other.status_code == 422
    assert other.json()["fields"][0]["field"] == "Idempotency-Key"
    with api.client("amy") as c:
        history = c.get(f"/api/v1/tickets/{body['id']}/history").json()
    assert [e["action"] for e in history["entries"]] == ["create"]
    assert first.json()["number"] == history["number"]


def test_a_used_id_with_another_body_is_a_conflict(api: Api) -> None:
    body = ticket_args(phone="021-64370001")
    first = create(api, "amy", None, body)
    assert first.status_code == 201, first.text
    again = create(api, "amy", None, body)  # a retry without a key: the same ticket
    assert again.status_code == 200 and again.json()["number"] == first.json()["number"]
    other = create(api, "amy", None, {**body, "account": "另一件事"})
    assert other.status_code == 409, other.text
    assert other.json()["error"] == "conflict"
    assert [f["field"] for f in other.json()["fields"]] == ["id"]
    later = create(api, "amy", None, {**body, "call_started_at": body["created_at"]})
    assert later.status_code == 409
    # the ticket changes after it was created: a late retry of the create is still one
    cid = client_id()
    moved = api.push("amy", cid, [mutation(1, "update_ticket", {
        "ticket_id": body["id"], "base_revision": 1, "changes": {"address": "徐汇区漕溪北路1号"},
    })]).json()["results"][0]  # fmt: skip
    assert moved["outcome"] == "applied", moved
    assert create(api, "amy", None, body).status_code == 200
    with api.client("amy") as c:
        ticket = c.get(f"/api/v1/tickets/{body['id']}").json()
        history = c.get(f"/api/v1/tickets/{body['id']}/history").json()
    assert ticket["account"] == body["account"] and ticket["address"] == "徐汇区漕溪北路1号"
    assert [e["action"] for e in history["entries"]] == ["create", "update"]


def test_one_key_sent_concurrently_creates_one_ticket(api: Api) -> None:
    body = ticket_args()
    key = "key-" + new_id()
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(create(api, "bob", key, body)))
               for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["number"] for a in answers}) == 1
    with api.client("bob") as c:
        history = c.get(f"/api/v1/tickets/{body['id']}/history").json()
    assert [e["action"] for e in history["entries"]] == ["create"]


def test_nul_characters_are_refused_by_field(api: Api) -> None:
    poison = ticket_args(address="漕溪北路\x001号")
    r = api.push("amy", client_id(), [mutation(1, "create_ticket", poison)])
    [result] = r.json()["results"]
    assert result["outcome"] == "rejected" and result["field"] == "args.address"
    rest = create(api, "amy", None, ticket_args(account="a\x00b"))
    assert rest.status_code == 422
    assert [f["field"] for f in rest.json()["fields"]] == ["account"]
    assert rest.json()["message"].startswith("account:")
    # a NUL in a query or path parameter: SQLite compares it, PostgreSQL cannot take it
    postgres = api.server.database_url.startswith("postgres")
    with api.client("amy") as c:
        search = c.get("/api/v1/tickets", params={"text": "a\x00b", "limit": 5})
        one = c.get("/api/v1/tickets/t%00x")
    if postgres:
        assert search.status_code == 422 and one.status_code == 422
        assert [f["field"] for f in search.json()["fields"]] == ["text"]
        assert [f["field"] for f in one.json()["fields"]] == ["ticket_id"]
    else:
        assert search.status_code == 200 and one.status_code == 404


def test_bad_ticket_input_names_the_field(api: Api) -> None:
    cases = {
        "id_card": ticket_args(id_card="110101199003077777"),  # wrong check digit
        "phone": ticket_args(phone="123"),
        "call_started_at": {**ticket_args(), "call_started_at": "yesterday"},
        "kind": ticket_args(kind="gossip"),
        "account": ticket_args(account=""),
    }
    for name, body in cases.items():
        r = create(api, "amy", None, body)
        assert r.status_code == 422, (name, r.text)
        fields = [f["field"] for f in r.json()["fields"]]
        assert fields and fields[0] == name, (name, r.json())
        with api.client("amy") as c:
            assert c.get(f"/api/v1/tickets/{body['id']}").status_code == 404  # nothing written


def _ago(**kw: float) -> dict[str, str]:
    """Call times of a ticket taken that long ago (the call lasted two minutes)."""
    started = datetime.now(UTC) - timedelta(**kw)
    return {"call_started_at": started.isoformat(),
            "created_at": (started + timedelta(minutes=2)).isoformat()}  # fmt: skip


def test_list_filters_and_paging(api: Api) -> None:
    tag = new_id()[-8:]
    red = ticket_args(urgency="red", category="urgent_medical", urgent_subcategory="dialysis",
                      kind="help", district="浦东新区", account=f"血透 {tag}")  # fmt: skip
    plain = ticket_args(account=f"咨询 {tag}")
    # overdue by hotline.clocks: a red ticket past its 2 h window with no response, and a
    # normal consultation dispatched 30 days ago (3 working days allowed); in time: the same
    # two kinds just taken, an old ticket never dispatched, an old one closed on the spot
    red_late = ticket_args(urgency="red", category="urgent_medical", kind="help",
                           urgent_subcategory="dialysis", account=f"血透 {tag}",
                           **_ago(hours=3))  # fmt: skip
    normal_late = ticket_args(kind="consultation", disposition="dispatch",
                              account=f"咨询 {tag}", **_ago(days=30))  # fmt: skip
    normal_fresh = ticket_args(kind="consultation", disposition="dispatch",
                               account=f"咨询 {tag}")  # fmt: skip
    old_accepted = ticket_args(account=f"咨询 {tag}", **_ago(days=30))
    old_closed = ticket_args(disposition="on_spot", account=f"咨询 {tag}", **_ago(days=30))
    amys = ticket_args(account=f"咨询 {tag}")
    bobs = (red, plain, red_late, normal_late, normal_fresh, old_accepted, old_closed)
    for body in bobs:
        assert create(api, "bob", None, body).status_code == 201
    assert create(api, "amy", None, amys).status_code == 201
    with api.client("lee") as c:

        def ids(**params: Any) -> list[str]:
            r = c.get("/api/v1/tickets", params={"text": tag, "limit": 100, **params})
            assert r.status_code == 200, r.text
            return sorted(t["id"] for t in r.json()["tickets"])

        def of(*bodies: dict[str, Any]) -> list[str]:
            return sorted(b["id"] for b in bodies)

        assert ids() == of(*bobs, amys)
        assert ids(urgency="red") == of(red, red_late)
        assert ids(category="urgent_medical", district="浦东新区") == of(red)
        assert ids(assignee="bob") == of(*bobs)
        assert ids(assignee="amy") == of(amys)
        assert ids(overdue=True) == of(red_late, normal_late)
        assert ids(overdue=False) == of(red, plain, normal_fresh, old_accepted, old_closed, amys)
        assert ids(overdue=True, urgency="normal") == of(normal_late)
        accepted_in_time = ids(status="accepted", assignee="bob", overdue=False)
        assert accepted_in_time == of(red, plain, old_accepted)
        assert ids(status="closed") == of(old_closed)
        page = c.get("/api/v1/tickets", params={"text": tag, "limit": 1, "offset": 1}).json()
        assert page["total"] == 8 and len(page["tickets"]) == 1
        late_page = c.get("/api/v1/tickets", params={"text": tag, "overdue": True}).json()
        assert late_page["total"] == 2
        # each answer says what the filter found, the normal late one too
        assert [t["overdue"] for t in late_page["tickets"]] == [True, True]
        in_time = c.get("/api/v1/tickets", params={"text": tag, "overdue": False}).json()
        assert not any(t["overdue"] for t in in_time["tickets"])
        assert c.get(f"/api/v1/tickets/{normal_late['id']}").json()["overdue"] is True
        assert c.get(f"/api/v1/tickets/{normal_fresh['id']}").json()["overdue"] is False
        bad = c.get("/api/v1/tickets", params={"urgency": "purple"})
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "urgency"
        assert c.get(f"/api/v1/tickets/{new_id()}").status_code == 404


def test_same_field_conflict_keeps_later_write_and_records_the_loser(api: Api) -> None:
    args = ticket_args()
    amy_client, bob_client = client_id(), client_id()
    created = api.push("amy", amy_client, [mutation(1, "create_ticket", args)]).json()
    rev = created["results"][0]["revision"]
    tid = args["id"]
    a = api.push("amy", amy_client, [
        mutation(2, "update_ticket", {"ticket_id": tid, "base_revision": rev,
                                      "changes": {"address": "徐汇区漕溪北路1号"}}),
    ]).json()["results"][0]  # fmt: skip
    assert a["outcome"] == "applied" and a["conflict"] is None
    b = api.push("bob", bob_client, [
        mutation(1, "update_ticket", {"ticket_id": tid, "base_revision": rev,
                                      "changes": {"address": "徐汇区漕溪北路2号",
                                                  "community": "徐家汇街道"}}),
    ]).json()["results"][0]  # fmt: skip
    assert b["outcome"] == "applied"
    assert b["conflict"] == {"address": {"mine": "徐汇区漕溪北路2号", "theirs": "徐汇区漕溪北路1号",
                                         "kept": "mine"}}  # fmt: skip
    with api.client("amy") as c:
        ticket = c.get(f"/api/v1/tickets/{tid}").json()
        history = c.get(f"/api/v1/tickets/{tid}/history").json()["entries"]
    assert ticket["address"] == "徐汇区漕溪北路2号" and ticket["community"] == "徐家汇街道"
    assert ticket["revision"] == 3
    last = history[-1]
    assert last["actor"] == "bob" and last["conflict"]["address"]["theirs"] == "徐汇区漕溪北路1号"


def test_status_notes_escalation_merge_and_callback(api: Api) -> None:
    cid = client_id()
    one, two = ticket_args(), ticket_args()
    note = {"ticket_id": one["id"], "note_id": new_id(), "body": "已联系街道",
            "created_at": datetime.now(UTC).isoformat()}  # fmt: skip
    muts = [
        mutation(1, "create_ticket", one),
        mutation(2, "create_ticket", two),
        mutation(3, "add_note", note),
        mutation(4, "add_note", note),  # the same note twice: stored once
        mutation(5, "escalate", {"ticket_id": one["id"], "reason": "跨部门"}),
        mutation(6, "merge_ticket", {"ticket_id": two["id"], "into_ticket_id": one["id"]}),
        mutation(7, "change_status", {"ticket_id": one["id"], "to": "closed", "base_revision": 1}),
        # an old desk's 1-5 score: 5 is read as 满意 (satisfied)
        mutation(8, "record_callback", {"ticket_id": one["id"], "satisfaction": 5}),
        mutation(9, "update_ticket", {"ticket_id": one["id"], "base_revision": 1,
                                      "changes": {"promise": "三日内答复"}}),
    ]  # fmt: skip
    results = api.push("amy", cid, muts).json()["results"]
    outcomes = [r["outcome"] for r in results]
    assert outcomes == ["applied"] * 8 + ["rejected"], results
    assert results[8]["field"] == "args.status" and "reopen" in results[8]["reason"]
    with api.client("amy") as c:
        t1 = c.get(f"/api/v1/tickets/{one['id']}").json()
        t2 = c.get(f"/api/v1/tickets/{two['id']}").json()
    assert (t1["status"], t1["satisfaction"], t1["escalation_level"]) == (
        "evaluated",
        "satisfied",
        1,
    )
    assert (t2["status"], t2["merged_into"]) == ("merged", one["id"])
    notes = [c for c in api.pull_all("amy") if c["entity"] == "note"]
    assert [n["entity_id"] for n in notes].count(note["note_id"]) == 1
    assert t1["closed_at"] and datetime.fromisoformat(t1["closed_at"]) > datetime.now(
        UTC
    ) - timedelta(minutes=5)
