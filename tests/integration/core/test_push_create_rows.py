"""What a pushed create writes, now that the push path takes shortcuts: its fields are
cleaned only where given (the rest take their cleaned defaults), and a new ticket's row is
not read back after its insert. Both must give what the long way gave: the same normalized
fields or the same first refusal naming the same field, and change-log entries equal to the
ticket as the database now holds it (times in UTC), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline.ids import uuid7
from hotline.model import Kind, Role, TicketFields
from hotline.protocol import CreateTicketArgs, MutationOutcome, PushRequest
from hotline_server import tickets
from hotline_server.auth import User
from hotline_server.db.bulk import JsonText
from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.db.schema import change_log, ticket_history
from hotline_server.sync.appliers import register_core
from hotline_server.sync.push import PushOutcome, push
from hotline_server.sync.registry import Rejected

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
AMY = User("amy", Role.AGENT, "east", None)
SHANGHAI = timezone(timedelta(hours=8))


def args(**fields: Any) -> dict[str, Any]:
    started = (NOW - timedelta(minutes=3)).astimezone(SHANGHAI)
    return {"id": uuid7(), "call_started_at": started.isoformat(),
            "created_at": started.isoformat(), **fields}  # fmt: skip


GOOD = {"phone": "13812345678", "account": "小区停水两天。"}
VARIANTS: list[dict[str, Any]] = [
    GOOD,
    {**GOOD, "district": "徐汇", "street": "漕河泾街道", "caller_number": "12345"},
    {
        **GOOD,
        "phone": " 021-6234 5678 ",
        "kind": "complaint",
        "reply_needed": True,
        "reply_method": "sms",
        "extra": {"楼层": "3"},
        "topic": "water_drainage",
    },
    {"account": "匿名来电。", "privacy": "anonymous"},
    {"phone": "13812345678"},  # no account
    {"account": "x"},  # no phone
    {**GOOD, "phone": "12"},
    {**GOOD, "district": "火星区"},
    {**GOOD, "district": "徐汇区", "street": "不存在街道"},
    {**GOOD, "phone": "", "caller_name": ""},
    {**GOOD, "kind": "help", "id_card": "110101199003077777"},
    {**GOOD, "extra": {"a": "b\x00"}},
    {**GOOD, "topic": "water"},
    {**GOOD, "urgency": "red", "urgent_subcategory": "fever", "answer": "   "},
]


def long_way(a: CreateTicketArgs) -> dict[str, Any] | tuple[str, str | None]:
    """What a create's fields became before the shortcut (check_fields of every field)."""
    try:
        return tickets.check_fields(a.model_dump(include=set(TicketFields.model_fields)))
    except Rejected as exc:
        return exc.reason, exc.field


def short_way(a: CreateTicketArgs) -> dict[str, Any] | tuple[str, str | None]:
    try:
        return tickets.create_fields(a)
    except Rejected as exc:
        return exc.reason, exc.field


@pytest.mark.parametrize("fields", VARIANTS)
def test_a_create_cleans_to_what_checking_every_field_gave(fields: dict[str, Any]) -> None:
    a = CreateTicketArgs.model_validate(args(**fields))
    assert short_way(a) == long_way(a)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    register_core()
    try:
        yield engine
    finally:
        engine.dispose()


def push_creates(engine: Engine, batch: list[dict[str, Any]]) -> PushOutcome:
    """One push from Amy's desk creating a ticket from each of ``batch``'s args, in order."""
    mutations = [{"mutation_id": i, "name": "create_ticket", "args": a,
                  "client_time": NOW.isoformat()} for i, a in enumerate(batch, 1)]  # fmt: skip
    request = PushRequest.model_validate({"client_id": uuid7(), "mutations": mutations})
    return push(engine, AMY, request, NOW, timezone="Asia/Shanghai", teams_configured=True)


def test_the_change_log_holds_each_new_ticket_as_the_database_holds_it(engine: Engine) -> None:
    batch = [args(**GOOD), args(**VARIANTS[2]), args(**VARIANTS[3]),
             args(**GOOD, disposition="on_spot", answer="已答复。"),
             args(**GOOD, disposition="dispatch")]  # fmt: skip
    outcome = push_creates(engine, batch)
    assert [r.outcome for r in outcome.response.results] == [MutationOutcome.APPLIED] * 5
    with engine.connect() as conn:
        logged = {r.entity_id: r.data for r in conn.execute(sa.select(change_log))}
        created = {r.ticket_id: r.changes for r in conn.execute(sa.select(ticket_history))}
        for a in batch:
            row = tickets.get_row(conn, a["id"])
            assert row is not None
            assert logged[a["id"]] == tickets.ticket_data(row)  # times in UTC, as stored
            created_at = datetime.fromisoformat(logged[a["id"]]["created_at"])
            assert created_at.utcoffset() == timedelta(0)  # sent at +08:00
            assert {k: v["to"] for k, v in created[a["id"]].items()} == {
                k: row[k] for k in TicketFields.model_fields
            }


def test_a_new_tickets_row_names_every_column_so_it_is_stored_as_built() -> None:
    """The push inserts the rows it built and publishes them without reading them back:
    that holds only while the built row names every column of ``tickets`` (times in UTC)."""
    a = CreateTicketArgs.model_validate(args(**GOOD, disposition="dispatch"))
    row = tickets._new_row(a, tickets.create_fields(a), AMY, NOW, "20261206-000001")
    assert set(row) == set(tickets.tickets.c.keys())
    times = [v for v in row.values() if isinstance(v, datetime)]
    assert times and all(v.tzinfo is UTC for v in times)


CHANGES: list[dict[Any, Any]] = [
    {},
    {"phone": "13812345678", "account": '停水\n"两天"\\ \x01\u2028 é', "answer": None},
    {"reply_needed": True, "overdue": False, "n": 0, "big": 2**70, "f": 1.5, "nan": float("nan")},
    {"extra": {"楼层": "3", "n": [1, 2.5, None, {"deep": []}]}, "empty": {}, "list": []},
    {"kind": Kind.HELP, "text": type("Text", (str,), {})("子类")},  # str subclasses
    {1: "a number as a field name"},
]


@pytest.mark.parametrize("fields", CHANGES, ids=range(len(CHANGES)))
def test_a_creates_history_text_is_what_json_dumps_makes(fields: dict[Any, Any]) -> None:
    nested = {k: {"to": v} for k, v in fields.items()}
    made = tickets._created_changes(fields)
    if all(type(k) is str for k in fields):
        assert type(made) is JsonText and made == json.dumps(nested)
    else:
        assert made == nested  # not text: the dict, encoded by the engine as before


def test_a_creates_history_is_stored_as_json_dumps_text(engine: Engine) -> None:
    """The history entry of a new ticket is written as text made by hand (SQLite's bulk
    insert, PostgreSQL's COPY): the text stored must be json.dumps's (what the engine
    writes for a one-row insert), and the value must read back the same."""
    batch = [args(**GOOD), args(**VARIANTS[2]), args(**VARIANTS[3])]
    outcome = push_creates(engine, batch)
    assert [r.outcome for r in outcome.response.results] == [MutationOutcome.APPLIED] * 3
    with engine.connect() as conn:
        for a in batch:
            fields = tickets.create_fields(CreateTicketArgs.model_validate(a))
            expected = {k: {"to": v} for k, v in fields.items()}
            changes = conn.execute(
                sa.select(ticket_history.c.changes).where(ticket_history.c.ticket_id == a["id"])
            ).scalar_one()
            assert changes == expected
            if engine.dialect.name == "sqlite":
                raw = conn.exec_driver_sql(
                    "SELECT changes FROM ticket_history WHERE ticket_id = ?", (a["id"],)
                ).scalar_one()
            else:  # a json column keeps the text it was given
                raw = conn.exec_driver_sql(
                    "SELECT changes::text FROM ticket_history WHERE ticket_id = %(id)s",
                    {"id": a["id"]},
                ).scalar_one()
            assert raw == json.dumps(expected)
