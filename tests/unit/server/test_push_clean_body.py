"""A clean push body (no NUL, every mutation well formed, this server's schema) is read in
one pydantic pass from its JSON text (``push.read_clean_body``); anything else is read as
before (``json.loads``, envelopes, each mutation checked on its own) and refused naming the
field. The one pass must give the values the usual way gives, for any body it takes."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.ids import uuid7
from hotline.protocol import SCHEMA_VERSION, Mutation, MutationResult, PushRequest
from hotline_server.sync import push as push_mod
from tests.support.mutations import create_ticket


def create(mid: int, **changes: Any) -> dict[str, Any]:
    return create_ticket(mid, datetime.now(UTC), **{"address": f"漕溪北路{mid}号", **changes})


def post(app: tuple[TestClient, str], body: dict[str, Any]) -> Any:
    client, token = app
    r = client.post("/api/v1/sync/push", json=body,
                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return r


@pytest.fixture
def given(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The class of every mutation each push was handed (``Mutation`` when read in one
    pass, ``MutationEnvelope`` when read the usual way)."""
    seen: list[list[str]] = []
    real = push_mod.push

    def spy(engine: Any, user: Any, request: PushRequest, *a: Any, **k: Any) -> Any:
        seen.append([type(m).__name__ for m in request.mutations])
        return real(engine, user, request, *a, **k)

    monkeypatch.setattr(push_mod, "push", spy)
    return seen


def test_a_clean_body_is_read_in_one_pass(
    amy_app: tuple[TestClient, str], given: list[list[str]]
) -> None:
    cid = str(uuid7())
    batch = [create(1), create(2), create(3)]
    r = post(amy_app, {"client_id": cid, "mutations": batch})
    assert r.status_code == 200, r.text
    assert [x["outcome"] for x in r.json()["results"]] == ["applied"] * 3
    assert given == [["Mutation"] * 3]  # strict mutations, straight from the body
    replay = post(amy_app, {"client_id": cid, "mutations": batch})
    assert [x["outcome"] for x in replay.json()["results"]] == ["duplicate"] * 3
    assert [x["ticket_number"] for x in replay.json()["results"]] == [
        x["ticket_number"] for x in r.json()["results"]
    ]


BAD = [  # a mutation the one pass does not take, and the field its refusal names
    ({"name": "make_coffee"}, "name"),
    ({"client_time": "2026-12-01T08:00:00"}, "client_time"),
    ({"schema_version": SCHEMA_VERSION + 1}, "schema_version"),
    ({"schema_version": 0}, "schema_version"),
    ({"colour": "red"}, "colour"),
    ({"args": ["not", "an", "object"]}, "args"),
]


@pytest.mark.parametrize(("bad", "field"), BAD)
def test_a_refused_mutation_is_named_as_before(
    amy_app: tuple[TestClient, str],
    given: list[list[str]],
    monkeypatch: pytest.MonkeyPatch,
    bad: dict[str, Any],
    field: str,
) -> None:
    """The batch is read the usual way and answered as with the one pass switched off."""
    answers = []
    for one_pass in (True, False):
        if not one_pass:
            monkeypatch.setattr(push_mod, "read_clean_body", lambda body: None)
        batch = [create(1), {**create(2), **bad}, create(3)]
        r = post(amy_app, {"client_id": str(uuid7()), "mutations": batch})
        assert r.status_code == 200, r.text
        answers.append([(x["outcome"], x["field"], x["reason"]) for x in r.json()["results"]])
    assert given == [["MutationEnvelope"] * 3] * 2
    assert answers[0] == answers[1]
    outcomes, fields, reasons = zip(*answers[0], strict=True)
    assert outcomes == ("applied", "rejected", "applied")
    assert fields[1] == field
    assert reasons[1].startswith(field)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"client_id": "nope", "mutations": []}',
        b'{"mutations": []}',
        b'\xef\xbb\xbf{"client_id": "0190a7e2-0000-7000-8000-000000000000", "mutations": []}',
    ],
)
def test_a_body_refused_whole_is_answered_as_before(
    amy_app: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    client, token = amy_app
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    first = client.post("/api/v1/sync/push", content=body, headers=headers)
    monkeypatch.setattr(push_mod, "read_clean_body", lambda body: None)
    second = client.post("/api/v1/sync/push", content=body, headers=headers)
    assert (first.status_code, first.json()) == (second.status_code, second.json())


def usual(body: bytes) -> tuple[str, list[Mutation]] | str | None:
    """What the usual way makes of ``body`` (a body without NUL): the client id and strict
    mutations, ``"rejected"`` when a mutation would be refused, None when the body is."""
    try:
        request = PushRequest.model_validate(json.loads(body))
    except Exception:
        return None
    out = []
    for envelope in request.mutations:
        checked = push_mod._well_formed(envelope, nul_free=True)
        if isinstance(checked, MutationResult):
            return "rejected"
        out.append(checked)
    return request.client_id, out


TWISTS: list[tuple[str, Any]] = [
    ("mutation_id", "3"), ("mutation_id", 3.0), ("mutation_id", 3.5), ("mutation_id", True),
    ("mutation_id", 0), ("mutation_id", 2**62 + 1), ("mutation_id", " 3 "), ("mutation_id", None),
    ("name", " create_ticket "), ("name", "CREATE_TICKET"), ("name", 1), ("name", None),
    ("schema_version", "1"), ("schema_version", "2"), ("schema_version", 1.0),
    ("schema_version", True), ("schema_version", None), ("schema_version", -1),
    ("schema_version", SCHEMA_VERSION + 1), ("schema_version", str(SCHEMA_VERSION + 1)),
    ("client_time", "2026-12-01T08:00:00+08:00"), ("client_time", " 2026-12-01T08:00:00Z "),
    ("client_time", 1764547200), ("client_time", 1764547200.5), ("client_time", "2026-12-01"),
    ("client_time", "0001-01-01T00:00:00+14:00"), ("client_time", None),
    ("args", {}), ("args", {" phone ": " 1 ", "a": [1.5, -0.0, 1e400, 10**30, None]}),
    ("args", None), ("args", "x"), ("extra", 1),
]  # fmt: skip
RAW = [  # JSON text the two parsers might read apart
    '{"a": NaN, "b": Infinity, "c": -Infinity}', '{"a": 1, "a": 2, "b": 3}',
    '{"a": "\\ud83d\\ude00", "b": 1E5, "c": -0, "d": 0.1e-310, "e": 123456789.123456789}',
    '{"a": "\\ud800"}', '{"a": "\\u00e9\\t\\""}', '{"a": 1,}', '{"a": 01}',
]  # fmt: skip


def bodies(rng: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        muts = [create(i) for i in range(1, rng.randint(1, 4))]
        for m in muts:
            for _ in range(rng.choice((0, 0, 1, 2))):
                key, value = rng.choice(TWISTS)
                m[key] = value
        text = json.dumps({"client_id": str(uuid7()), "mutations": muts}, ensure_ascii=False)
        if '"args": {' in text and rng.random() < 0.3:  # JSON json.dumps would not write
            i = text.rindex('"args": {') + len('"args": ')
            text = text[:i] + rng.choice(RAW)[:-1] + ", " + text[i + 1 :]
        if rng.random() < 0.1:  # a key given twice: the last one counts
            text = text.replace('"mutation_id": ', '"mutation_id": 7, "mutation_id": ', 1)
        out.append(text.encode())
    return out


def test_the_one_pass_reads_what_the_usual_way_reads() -> None:
    """Over bodies of twisted mutations: wherever the one pass answers, the usual way takes
    every mutation too, with the same values; wherever the usual way refuses one or the
    body, the one pass does not answer."""
    rng = random.Random(14)
    taken = 0
    for body in bodies(rng, 1500):
        assert b"\\u0000" not in body
        clean = push_mod.read_clean_body(body)
        expected = usual(body)
        if clean is None:
            if isinstance(expected, tuple):  # left to the usual way: a newer schema, or
                # text pydantic's parser refuses (a lone surrogate)
                newer = any(m.schema_version > SCHEMA_VERSION for m in expected[1])
                assert newer or b"\\ud800" in body, body
            continue
        taken += 1
        assert isinstance(expected, tuple), body
        assert clean.client_id == expected[0]
        assert [type(m) for m in clean.mutations] == [Mutation] * len(expected[1])
        got = [repr(m.model_dump()) for m in clean.mutations]
        assert got == [repr(m.model_dump()) for m in expected[1]], body
    assert 300 < taken < 1400  # both ways were exercised


def test_the_push_body_is_still_documented_as_a_push_request(
    amy_app: tuple[TestClient, str],
) -> None:
    client, _ = amy_app
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/api/v1/sync/push"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PushRequest"}
    assert post["requestBody"]["required"] is True
    assert set(doc["components"]["schemas"]["PushRequest"]["properties"]) == {
        "client_id", "mutations"
    }  # fmt: skip
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PushResponse"}
