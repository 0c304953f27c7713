"""What an agent account (or a phone system) can send is bounded, and no answer or log line
gives away SQL or a citizen's data (issue 12, "Server security"): against the real server
process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hotline.protocol import MAX_PUSH_BODY_BYTES, Mutation, fit_push_batch
from tests.integration.core.conftest import (
    TELEPHONY_TOKEN,
    Api,
    client_id,
    mutation,
    new_id,
    ticket_args,
)

# 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC; 0001-01-01T00:00+14:00 before year 1
CALENDAR_LIMITS = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00+14:00"]
FAR_FUTURE = "2999-01-01T00:00:00+00:00"
SQL_WORDS = re.compile(r"\b(INSERT|SELECT|UPDATE|VALUES|parameters)\b|\[SQL", re.IGNORECASE)


def no_sql(response: httpx.Response) -> None:
    assert not SQL_WORDS.search(response.text), response.text


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    no_sql(response)
    return str(response.json()["fields"][0]["field"])


def rejected_field(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    no_sql(response)
    result = response.json()["results"][0]
    assert result["outcome"] == "rejected", result
    return str(result["field"])


def call_event(at: str) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "offered", "call_id": new_id(), "at": at,
            "caller_number": "13800138000", "queue": "main"}  # fmt: skip


def phone_system(api: Api) -> httpx.Client:
    return httpx.Client(base_url=api.url, timeout=30,
                        headers={"Authorization": f"Bearer {TELEPHONY_TOKEN}"})  # fmt: skip


@pytest.mark.parametrize("when", [*CALENDAR_LIMITS, FAR_FUTURE])
def test_a_time_the_system_cannot_keep_answers_422_naming_the_field(api: Api, when: str) -> None:
    with api.client("amy") as c:
        assert field_of(c.post("/api/v1/tickets", json=ticket_args(call_started_at=when))) == (
            "call_started_at"
        )
    create = mutation(1, "create_ticket", ticket_args(created_at=when))
    assert rejected_field(api.push("amy", client_id(), [create])) == "args.created_at"
    late_clock = {**mutation(1, "create_ticket", ticket_args()), "client_time": when}
    assert rejected_field(api.push("amy", client_id(), [late_clock])) == "client_time"
    with phone_system(api) as phone:
        r = phone.post("/api/v1/telephony/events", json={"events": [call_event(when)]})
        assert field_of(r) == "events.0.at"


@pytest.mark.parametrize("when", CALENDAR_LIMITS)
def test_a_kb_validity_the_calendar_cannot_hold_answers_422(api: Api, when: str) -> None:
    with api.client("lee") as c:
        r = c.post("/api/v1/kb", json={"title": "口径", "body": "内容", "valid_to": when})
        assert field_of(r) == "valid_to"
        # an article may well be valid until far ahead: only the calendar bounds it
        r = c.post("/api/v1/kb", json={"title": "口径", "body": "内容", "valid_to": FAR_FUTURE})
        assert r.status_code == 201, r.text


def nested(depth: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    inner = top
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    return top


def test_extra_too_deep_or_too_large_is_refused_naming_the_path(api: Api) -> None:
    deep = nested(12)
    path = "extra" + ".a" * 9  # the ninth container is one level too many
    with api.client("amy") as c:
        assert field_of(c.post("/api/v1/tickets", json=ticket_args(extra=deep))) == path
        big = {"answer": "长" * 30_000}  # 90,000 bytes of UTF-8
        assert field_of(c.post("/api/v1/tickets", json=ticket_args(extra=big))) == "extra"
        fine = ticket_args(extra={"pets": "一只猫", "visits": [1, 2]})
        assert c.post("/api/v1/tickets", json=fine).status_code == 201
    cid = client_id()
    create = mutation(1, "create_ticket", ticket_args(extra=deep))
    assert rejected_field(api.push("amy", cid, [create])) == "args." + path
    update = mutation(2, "update_ticket", {"ticket_id": fine["id"], "base_revision": 1,
                                           "changes": {"extra": deep}})  # fmt: skip
    assert rejected_field(api.push("amy", cid, [update])) == "args.changes." + path


def test_json_nested_100000_deep_answers_4xx_naming_where(api: Api) -> None:
    with api.client("amy") as c:
        for body in (b"[" * 100_000, b'{"mutations": [{"args": ' + b"{" * 100_000):
            r = c.post("/api/v1/sync/push", content=body,
                       headers={"Content-Type": "application/json"})  # fmt: skip
            assert r.status_code == 422, r.text
            where = r.json()["fields"][0]["field"]
            assert where.startswith("0.0.0" if body[0] == ord("[") else "mutations.0.args.")
        # a deep ticket extra, as a whole body deeper than the server reads
        r = c.post("/api/v1/tickets", json=ticket_args(extra=nested(200)))
        assert field_of(r).startswith("extra.a.a.a")
        assert c.get("/healthz").status_code == 200


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"client_id": "' + str(uuid.uuid4()).encode() + b'", "mutations": [], "x": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


def test_a_body_over_the_limit_answers_413_declared_or_chunked(api: Api) -> None:
    with api.client("amy") as c:
        r = c.post("/api/v1/tickets", json=ticket_args(account="长" * 400_000))
        assert r.status_code == 413, r.text
        assert r.json()["error"] == "too_large"
        assert "bytes" in r.json()["message"]
        r = c.post("/api/v1/sync/push", content=chunks(2 * 1024 * 1024),
                   headers={"Content-Type": "application/json"})  # fmt: skip
        assert "content-length" not in r.request.headers  # really sent in chunks
        assert r.status_code == 413, r.text
        assert r.json()["error"] == "too_large"


def test_the_largest_push_a_desk_sends_fits_the_default_limit(api: Api) -> None:
    """A desk's batch of 100 tickets with every text field full (in Chinese) is cut to the
    push budget; the cut batch is accepted, and so is the rest after it."""
    full = {"caller_name": "张" * 50, "address": "路" * 200, "account": "诉" * 4000,
            "answer": "答" * 4000, "promise": "诺" * 500, "handling_unit": "单" * 60,
            "extra": {"note": "备" * 5000}}  # fmt: skip
    cid = client_id()
    mutations = [Mutation.model_validate(mutation(i, "create_ticket", ticket_args(**full)))
                 for i in range(1, 101)]  # fmt: skip
    sent = 0
    for _ in range(100):
        batch = fit_push_batch(cid, mutations[sent:])
        if not batch:
            break
        body = {"client_id": cid, "mutations": [m.model_dump(mode="json") for m in batch]}
        with api.client("amy") as c:
            r = c.post("/api/v1/sync/push", json=body)
        assert len(r.request.content) <= MAX_PUSH_BODY_BYTES
        assert r.status_code == 200, r.text[:300]
        assert {x["outcome"] for x in r.json()["results"]} == {"applied"}
        sent += len(batch)
    assert 1 < len(fit_push_batch(cid, mutations)) < 100
    assert sent == 100


def test_the_largest_phone_system_batch_fits_the_default_limit(api: Api) -> None:
    """1000 events (the batch maximum) with every field at its longest, Chinese escaped as
    ``\\uXXXX`` the way an ASCII-only sender writes it."""
    at = "2026-01-01T00:00:00.000000+08:00"
    events = [{"event_id": f"{i:0100d}", "type": "ended", "call_id": f"{i:064d}", "at": at,
               "caller_number": "1" * 20, "queue": "队" * 40, "agent": "席" * 64,
               "hold_seconds": 86399.999} for i in range(1000)]  # fmt: skip
    body = json.dumps({"events": events}, ensure_ascii=True).encode()
    assert len(body) < 1024 * 1024
    with phone_system(api) as phone:
        r = phone.post("/api/v1/telephony/events", content=body,
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text[:300]


PHONE_IN_QUERY = "13912345670"
PHONE_REFUSED = "13912345678"


def _force_db_error(database_url: str) -> None:
    """Make the database itself refuse tickets with one phone number (as a constraint or a
    failing disk would): the server meets a real database error carrying that number."""
    from hotline_server.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(
                    f"ALTER TABLE tickets ADD CONSTRAINT forced_failure "
                    f"CHECK (phone <> '{PHONE_REFUSED}') NOT VALID"
                )
            else:
                conn.exec_driver_sql(
                    f"CREATE TRIGGER forced_failure BEFORE INSERT ON tickets "
                    f"WHEN NEW.phone = '{PHONE_REFUSED}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
    finally:
        engine.dispose()


def test_logs_hold_no_phone_number_and_no_sql_parameters(api: Api) -> None:
    with api.client("amy") as c:
        assert c.get("/api/v1/tickets", params={"text": PHONE_IN_QUERY}).status_code == 200
        assert c.get("/api/v1/tickets", params={"phone": PHONE_IN_QUERY}).status_code == 200
    _force_db_error(api.server.database_url)
    refused = mutation(1, "create_ticket", ticket_args(phone=PHONE_REFUSED))
    r = api.push("amy", client_id(), [refused])
    rejected_field(r)
    assert PHONE_REFUSED not in r.text
    with api.client("amy") as c:
        r = c.post("/api/v1/tickets", json=ticket_args(phone=PHONE_REFUSED))
        assert r.status_code >= 400
        no_sql(r)
        assert PHONE_REFUSED not in r.text
    log = api.server.log_path.read_text(errors="replace")
    assert "GET /api/v1/tickets HTTP/1.1" in log  # the lookups were logged, without query
    assert PHONE_IN_QUERY not in log
    assert "could not be stored" in log  # the database error was logged, with its traceback
    assert PHONE_REFUSED not in log
    assert "[parameters:" not in log


def test_the_body_limit_is_configurable_and_checked() -> None:
    from hotline_server.settings import ConfigError, Settings

    env = {"HOTLINE_MAX_BODY_BYTES": str(2 * 1024 * 1024)}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        assert Settings.from_env("sqlite:///x.db").max_body_bytes == 2 * 1024 * 1024
        mp.setenv("HOTLINE_MAX_BODY_BYTES", "1000")
        with pytest.raises(ConfigError, match="HOTLINE_MAX_BODY_BYTES must be at least"):
            Settings.from_env("sqlite:///x.db")
