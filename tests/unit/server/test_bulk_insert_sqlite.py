"""``db.bulk.insert_many`` on SQLite sends the rows through the driver with each value
converted by its column type (SQLAlchemy's per-row parameter building was most of a push
batch's insert cost). What it stores must be exactly what ``table.insert()`` stores: the
same text for times (UTC, no offset) and JSON (a ``None`` in a JSON column as JSON null),
the same integers for booleans, the same NULLs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline_server.db.bulk import JsonText, _decoded, insert_many
from hotline_server.db.engine import json_text, make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.db.schema import change_log, sync_results, ticket_history, tickets

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 12, 6, 17, 30, 5, 123456, tzinfo=SHANGHAI)


def engine_at(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    ours, theirs = engine_at(tmp_path / "ours.db"), engine_at(tmp_path / "theirs.db")
    try:
        yield ours, theirs
    finally:
        ours.dispose()
        theirs.dispose()


def ticket(i: int) -> dict[str, Any]:
    row = {c.name: None for c in tickets.c}
    row.update(id=f"00000000-0000-7000-8000-{i:012d}", number=f"20261206-{i:06d}", revision=1,
               status="accepted", disposition="pending", escalation_level=0,
               caller_name="市民", phone="13812345678", address="人民路1号", district="huangpu",
               kind="help", category="water", urgency="normal", account="停水。\n两天",
               channel="phone", extra={"楼层": "3", "n": [1, 2.5, None]}, privacy="normal",
               reply_needed=i % 2 == 0, call_started_at=AT, created_at=AT.astimezone(UTC),
               created_by="amy", team="east", assignee="amy", overdue=False, received_at=AT,
               updated_at=AT, field_revisions={})  # fmt: skip
    return row


ROWS: dict[sa.Table, list[dict[str, Any]]] = {
    tickets: [ticket(1), ticket(2)],
    ticket_history: [
        {
            "ticket_id": ticket(1)["id"],
            "revision": 1,
            "at": AT,
            "actor": "amy",
            "action": "create",
            "changes": {"phone": {"to": "13812345678"}},
            "reason": None,
            "conflict": None,
            "client_id": None,
            "mutation_id": 2**40,
        },
    ],
    change_log: [
        {
            "seq": 7,
            "entity": "ticket",
            "entity_id": "x",
            "op": "upsert",
            "data": {"a": "é", "b": True, "c": None},
            "team": None,
            "owner": "amy",
            "server_time": AT,
        },
    ],
    sync_results: [
        {
            "client_id": "c",
            "mutation_id": 1,
            "name": "create_ticket",
            "outcome": "rejected",
            "result": {"reason": "phone: 不对", "field": "args.phone"},
            "username": "amy",
            "at": AT,
        },
    ],
}


def stored(engine: Engine, table: sa.Table) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY 1")]


def test_rows_are_stored_as_table_insert_stores_them(engines: tuple[Engine, Engine]) -> None:
    ours, theirs = engines
    statements: list[str] = []
    sa.event.listen(ours, "before_cursor_execute",
                    lambda conn, cur, statement, *a: statements.append(statement))  # fmt: skip
    for table, rows in ROWS.items():
        with ours.begin() as conn:
            insert_many(conn, table, rows)
        with theirs.begin() as conn:
            conn.execute(table.insert(), rows)
    for table in ROWS:
        assert stored(ours, table) == stored(theirs, table), table.name
        assert stored(ours, table)  # something was stored
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == len(ROWS)  # one statement per table


JSON_VALUES: list[Any] = [
    {}, [], None, True, 0, -3, 2**70, 1.5, float("nan"), float("inf"), "",
    "停水\n\"两天\"\x01\u2028",
    {"a": {}, "b": [{}], "c": {"to": "市民"}, "d": None, "é": [1, 2.5, None, True, "x"]},
    {"phone": {"to": "13812345678"}, "extra": {"to": {}}, "reply_needed": {"to": False}},
    [[[[{"deep": [[]]}]]]], {"1": 1, "": ""},
]  # fmt: skip


@pytest.mark.parametrize("value", JSON_VALUES, ids=range(len(JSON_VALUES)))
def test_json_text_is_json_dumps(value: Any) -> None:
    assert json_text(value) == json.dumps(value)


def test_json_columns_store_the_text_json_dumps_gives(tmp_path: Path) -> None:
    """The engine's serializer (``json_text``) against a plain ``json.dumps`` engine: the
    same bytes in every table a push writes, through both insert paths."""
    ours = engine_at(tmp_path / "ours.db")
    theirs = make_engine(f"sqlite:///{tmp_path / 'theirs.db'}", json_serializer=json.dumps)
    upgrade(theirs)
    try:
        for table, rows in ROWS.items():
            with ours.begin() as conn:
                insert_many(conn, table, rows[:1])
                if rows[1:]:
                    conn.execute(table.insert(), rows[1:])
            with theirs.begin() as conn:
                conn.execute(table.insert(), rows)
        for table in ROWS:
            assert stored(ours, table) == stored(theirs, table), table.name
    finally:
        ours.dispose()
        theirs.dispose()


def test_json_text_is_stored_as_is_and_read_back_elsewhere(engines: tuple[Engine, Engine]) -> None:
    """A ``JsonText`` goes into SQLite as the text it is (the bytes ``table.insert()``
    stores for its value); every other path reads it back into its value first."""
    ours, theirs = engines
    history = ROWS[ticket_history][0]
    value = {"phone": {"to": "13812345678"}, "extra": {"to": {"楼层": "3"}}}
    as_text = {**history, "changes": JsonText(json.dumps(value))}
    with ours.begin() as conn:
        insert_many(conn, tickets, [ticket(1)])
        insert_many(conn, ticket_history, [as_text])
    with theirs.begin() as conn:
        conn.execute(tickets.insert(), [ticket(1)])
        conn.execute(ticket_history.insert(), [{**history, "changes": value}])
    assert stored(ours, ticket_history) == stored(theirs, ticket_history)
    plain = {**ROWS[change_log][0], "data": {"a": 1}}
    decoded = _decoded(ticket_history, [as_text, plain])
    assert decoded[0]["changes"] == value and type(decoded[0]["changes"]) is dict
    assert decoded[1] is plain and type(as_text["changes"]) is JsonText  # inputs untouched
    row = {**ticket(3), "extra": JsonText('{"a": [1, 2]}')}
    with ours.begin() as conn:  # rows naming every column come back as stored, not re-read
        (back,) = insert_many(conn, tickets, [row], returning=True)
    assert back["extra"] == {"a": [1, 2]} and type(back["extra"]) is dict
    with ours.connect() as conn:
        extra = conn.execute(sa.select(tickets.c.extra).where(tickets.c.id == row["id"]))
        assert extra.scalar() == {"a": [1, 2]}


def test_utc_times_take_the_fast_way_with_the_same_text() -> None:
    """``UtcDateTime`` columns on SQLite: a time in UTC is formatted by ``isoformat`` (the
    bulk path's fast way), any other value by SQLAlchemy's processor; both give the text
    SQLAlchemy's processor gives, over many times (microseconds 0 too, the years' ends,
    another zone, pydantic's own UTC, a fold), and a naive time is refused the same way."""
    import random

    from pydantic import TypeAdapter
    from sqlalchemy.dialects import sqlite

    from hotline_server.db.bulk import _utc_text_or

    process = tickets.c.created_at.type._cached_bind_processor(sqlite.dialect())
    fast = _utc_text_or(process)
    assert fast is not process  # the fast way is on for this SQLAlchemy
    rnd = random.Random(14)
    pydantic_utc = TypeAdapter(datetime).validate_python("2026-12-07T06:04:52.5Z")
    values: list[Any] = [
        None,
        AT,
        AT.astimezone(UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC).replace(fold=1),
        pydantic_utc,
    ]
    for _ in range(5000):
        seconds = rnd.randrange(0, 253_402_300_799)
        micro = 0 if rnd.random() < 0.2 else rnd.randrange(1_000_000)
        t = datetime(1, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micro)
        values.append(t if rnd.random() < 0.8 else t.astimezone(SHANGHAI))
    for v in values:
        assert fast(v) == process(v), v
    with pytest.raises(ValueError):
        process(datetime(2026, 12, 7))
    with pytest.raises(ValueError):
        fast(datetime(2026, 12, 7))


def test_columns_none_in_every_row_are_written_as_null(engines: tuple[Engine, Engine]) -> None:
    """A column that is ``None`` in every row of a batch is written ``NULL`` in the statement
    instead of bound (sqlite3 binds a ``None`` through its adapter lookup, slow); one that is
    ``None`` in some rows only, and a JSON column's ``None`` (JSON ``null``), are still sent.
    The stored bytes are ``table.insert()``'s either way."""
    ours, theirs = engines
    statements: list[str] = []
    sa.event.listen(ours, "before_cursor_execute",
                    lambda conn, cur, statement, *a: statements.append(statement))  # fmt: skip
    rows = [ticket(1), {**ticket(2), "answer": "已答复", "extra": {}}, ticket(3)]
    history = [{**ROWS[ticket_history][0], "ticket_id": r["id"]} for r in rows]
    for table, batch in ((tickets, rows), (ticket_history, history)):
        with ours.begin() as conn:
            insert_many(conn, table, batch)
        with theirs.begin() as conn:
            conn.execute(table.insert(), batch)
        assert stored(ours, table) == stored(theirs, table), table.name
    (insert,) = [s for s in statements if s.startswith("INSERT INTO tickets")]
    names = insert.split("(", 1)[1].split(")", 1)[0].split(", ")
    values = insert.rsplit("(", 1)[1].rstrip(")").split(", ")
    written = {name.strip('"'): value for name, value in zip(names, values, strict=True)}
    assert written["community"] == "NULL" and written["closed_at"] == "NULL"
    assert written["answer"] == "?" and written["id"] == "?"  # None in some rows only: sent
    (insert,) = [s for s in statements if s.startswith("INSERT INTO ticket_history")]
    assert "NULL" in insert  # reason: None everywhere
    with ours.connect() as conn:  # conflict: a JSON column's None is JSON null, sent as such
        raw = conn.exec_driver_sql("SELECT conflict, reason FROM ticket_history").fetchall()
    assert raw[0] == ("null", None)
