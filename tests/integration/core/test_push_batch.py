"""A push batch is applied in one go, and a bad mutation in it is still answered alone.

Through the real server (SQLite and PostgreSQL): good mutations around bad ones all apply,
each bad one gets its own reason naming the field, the change log has one entry per applied
change with no hole in its sequence, and the same batch again is answered ``duplicate`` with
the first answers.
"""

from __future__ import annotations

from typing import Any

from tests.integration.core.conftest import Api, client_id, mutation, new_id, ticket_args


def _seqs_for(changes: list[dict[str, Any]], ids: set[str]) -> list[int]:
    return [c["seq"] for c in changes if c["entity_id"] in ids]


def test_good_mutations_apply_around_bad_ones_each_answered_alone(api: Api) -> None:
    cid = client_id()
    good = [ticket_args() for _ in range(4)]
    batch = [
        mutation(1, "create_ticket", good[0]),
        mutation(2, "create_ticket", good[1]),
        # refused inside its applier (after the batch started writing): the batch is
        # applied again one mutation at a time, and only this one is refused
        mutation(
            3,
            "update_ticket",
            {"ticket_id": new_id(), "base_revision": 1, "changes": {"address": "漕溪北路1号"}},
        ),
        # refused before anything is written: a phone number that is none
        mutation(4, "create_ticket", ticket_args(phone="12")),
        mutation(5, "create_ticket", good[2]),
        mutation(
            6, "change_status", {"ticket_id": good[0]["id"], "to": "dispatched", "base_revision": 1}
        ),
        mutation(7, "create_ticket", good[3]),
    ]
    r = api.push("amy", cid, batch)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["last_mutation_id"] == 7
    outcomes = [x["outcome"] for x in answer["results"]]
    assert outcomes == ["applied", "applied", "rejected", "rejected", "applied", "applied",
                        "applied"]  # fmt: skip
    update, phone = answer["results"][2], answer["results"][3]
    assert update["field"] == "args.ticket_id" and "no ticket" in update["reason"]
    assert phone["field"] == "args.phone"
    numbers = [x["ticket_number"] for x in answer["results"] if x["outcome"] == "applied"]
    assert len(set(numbers)) == 4  # the status move answers its ticket's number again
    assert numbers[0] == numbers[3]
    created = [x["ticket_number"] for x in (answer["results"][i] for i in (0, 1, 4, 6))]
    assert created == sorted(created)  # numbered in the batch's order

    changes = api.pull_all("amy", cid)
    ids = {t["id"] for t in good}
    mine = [c for c in changes if c["entity_id"] in ids]
    assert {c["entity_id"] for c in mine} == ids
    assert len(mine) == 5  # four creates and one status move
    seqs = _seqs_for(changes, ids)
    assert seqs == list(range(seqs[0], seqs[0] + 5))  # in order, no hole, nothing twice
    latest = {c["entity_id"]: c["data"] for c in mine}
    assert latest[good[0]["id"]]["status"] == "dispatched"

    again = api.push("amy", cid, batch)
    assert again.status_code == 200, again.text
    replay = again.json()["results"]
    assert [x["outcome"] for x in replay] == ["duplicate"] * 7
    for first, repeat in zip(answer["results"], replay, strict=True):
        assert repeat["ticket_number"] == first["ticket_number"]
        assert repeat["reason"] == first["reason"]
    assert len(api.pull_all("amy", cid)) == len(changes)  # the repeat changed nothing


def test_one_ticket_id_twice_in_a_batch_is_one_ticket(api: Api) -> None:
    cid = client_id()
    args = ticket_args()
    other = ticket_args()
    r = api.push("amy", cid, [mutation(1, "create_ticket", args),
                              mutation(2, "create_ticket", other),
                              mutation(3, "create_ticket", args)])  # fmt: skip
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["outcome"] for x in results] == ["applied"] * 3
    assert results[0]["ticket_number"] == results[2]["ticket_number"]
    assert results[0]["ticket_number"] != results[1]["ticket_number"]
    changes = api.pull_all("amy", cid)
    assert len([c for c in changes if c["entity_id"] == args["id"]]) == 1


def test_a_mixed_batch_of_a_partly_known_client_skips_what_was_applied(api: Api) -> None:
    cid = client_id()
    first = [mutation(i, "create_ticket", ticket_args()) for i in (1, 2, 3)]
    r1 = api.push("amy", cid, first)
    assert r1.status_code == 200, r1.text
    more = [mutation(i, "create_ticket", ticket_args()) for i in (4, 5)]
    r2 = api.push("amy", cid, first[1:] + more)  # a retry that overlaps the first batch
    assert r2.status_code == 200, r2.text
    results = r2.json()["results"]
    assert [x["outcome"] for x in results] == ["duplicate", "duplicate", "applied", "applied"]
    assert [x["ticket_number"] for x in results[:2]] == [
        x["ticket_number"] for x in r1.json()["results"][1:]
    ]
    assert r2.json()["last_mutation_id"] == 5
