"""``db.bulk.insert_many`` on PostgreSQL sends the rows in one ``COPY ... FROM STDIN`` on the
connection's own transaction. What it stores must be what ``table.insert()`` stores (the
same text in ``json`` columns, the same times), and a refusal must raise what a statement
raises (SQLAlchemy's ``DataError``/``IntegrityError``/``OperationalError``, so a push rolls
back and answers each mutation precisely) without quoting the refused value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline_server.db.bulk import JsonText, insert_many
from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.db.schema import change_log, ticket_history, tickets
from hotline_server.errors import unstorable_field
from tests.unit.server.test_bulk_insert_sqlite import ROWS, ticket

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def stored(conn: sa.Connection, table: sa.Table) -> list[str]:
    """Each row as PostgreSQL writes it out (a json column's text as it was stored), but
    a serial id (its sequence is not rolled back)."""
    cols = ", ".join(c.name for c in table.c if not (c.primary_key and c.autoincrement is True))
    query = f"SELECT ROW({cols})::text FROM {table.name} ORDER BY 1"
    return [r[0] for r in conn.exec_driver_sql(query)]


def test_rows_are_stored_as_table_insert_stores_them(engine: Engine) -> None:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cur, statement, *a: statements.append(statement))  # fmt: skip
    ours: dict[str, list[str]] = {}
    for table, rows in ROWS.items():
        if table is ticket_history:  # a JSON null would be SQL NULL here (module doc)
            rows = [{**row, "conflict": {"phone": {"mine": "1", "theirs": None}}} for row in rows]
        with engine.connect() as conn:
            trans = conn.begin()
            if table is ticket_history:
                insert_many(conn, tickets, ROWS[tickets])
            insert_many(conn, table, rows)
            ours[table.name] = stored(conn, table)
            trans.rollback()
            trans = conn.begin()
            if table is ticket_history:
                conn.execute(tickets.insert(), ROWS[tickets])
            conn.execute(table.insert(), rows)
            assert stored(conn, table) == ours[table.name], table.name
            assert ours[table.name]  # something was stored
            trans.rollback()
    assert not any(s.startswith("COPY") for s in statements)  # it runs on the driver's cursor


def test_json_text_is_stored_as_it_is(engine: Engine) -> None:
    value = {"phone": {"to": "13812345678"}, "extra": {"to": {"楼层": "3"}}}
    history = {**ROWS[ticket_history][0], "changes": JsonText(json.dumps(value))}
    with engine.begin() as conn:
        insert_many(conn, tickets, [ticket(1)])
        insert_many(conn, ticket_history, [history])
    with engine.connect() as conn:
        changes = ticket_history.c.changes
        assert conn.execute(sa.select(changes)).scalar_one() == value
        raw = conn.exec_driver_sql("SELECT changes::text FROM ticket_history").scalar_one()
        assert raw == json.dumps(value)


def test_a_refused_value_raises_what_a_statement_raises_without_quoting_it(
    engine: Engine,
) -> None:
    phone = "13812345678" * 3  # longer than the column
    with engine.connect() as conn, conn.begin(), pytest.raises(sa.exc.DataError) as caught:
        insert_many(conn, tickets, [{**ticket(1), "phone": phone}])
    exc = caught.value
    assert getattr(exc.orig, "sqlstate", None) == "22001"
    assert phone not in str(exc) and phone not in str(exc.orig)
    assert unstorable_field(exc) == "phone"  # a push answers the field at fault


def test_a_repeated_key_raises_integrity_error_and_the_connection_goes_on(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_many(conn, tickets, [ticket(1)])
    with engine.connect() as conn:
        with conn.begin(), pytest.raises(sa.exc.IntegrityError):
            insert_many(conn, tickets, [ticket(2), ticket(1)])
        with conn.begin():
            insert_many(conn, tickets, [ticket(2)])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar() == 2


def test_a_lost_connection_raises_operational_error_and_is_not_reused(engine: Engine) -> None:
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(sa.exc.OperationalError) as caught:
            insert_many(conn, tickets, [ticket(1)])
        assert caught.value.connection_invalidated
    with engine.begin() as conn:  # the pool hands out a working connection
        insert_many(conn, tickets, [ticket(1)])
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar() == 1


# A push's times as the bulk insert gets them: the batch's clock reading and the desk's
# times, all in UTC already; then the calendar's ends, whole seconds, ``timezone.utc`` (the
# same object as ``UTC``), and times in other zones, which go the usual way.
TIMES = [
    datetime.now(UTC),
    datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC),
    datetime(2026, 12, 8, 1, 2, 3, 4, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, 59, 500000, tzinfo=timezone.utc),  # noqa: UP017
    datetime(2026, 12, 8, 9, 2, 3, 7, tzinfo=timezone(timedelta(hours=8))),
    datetime(1, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
]


def test_times_in_utc_are_sent_as_text_and_stored_as_table_insert_stores_them(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    sent: list[Any] = []
    write_row = psycopg.Copy.write_row

    def recording(self: psycopg.Copy, row: Any) -> None:
        sent.append(row)
        write_row(self, row)

    monkeypatch.setattr(psycopg.Copy, "write_row", recording)
    rows = [{**ticket(i), "call_started_at": at, "created_at": at, "received_at": at,
             "updated_at": TIMES[0]} for i, at in enumerate(TIMES)]  # fmt: skip
    entries = [{"seq": i + 1, "entity": "ticket", "entity_id": f"t{i}", "op": "upsert",
                "data": {}, "team": None, "owner": None, "server_time": at}
               for i, at in enumerate(TIMES)]  # fmt: skip
    stored_as: dict[str, list[str]] = {}
    for way in ("bulk", "insert"):
        with engine.connect() as conn:
            trans = conn.begin()
            for table, given in ((tickets, rows), (change_log, entries)):
                if way == "bulk":
                    insert_many(conn, table, given)
                else:
                    conn.execute(table.insert(), given)
            stored_as[way] = stored(conn, tickets) + stored(conn, change_log)
            got = conn.execute(sa.select(tickets.c.created_at).order_by(tickets.c.number))
            assert list(got.scalars()) == TIMES  # the same instants read back
            trans.rollback()
    assert stored_as["bulk"] == stored_as["insert"]
    # the UTC times went to COPY as text (psycopg's dump of an aware time is ~6x slower)
    texts = [v for row in sent for v in row if isinstance(v, str)]
    assert all(at.isoformat() in texts for at in TIMES if at.tzinfo is UTC)
    others = [at.astimezone(UTC) for at in TIMES if at.tzinfo is not UTC]
    sent_times = [v for row in sent for v in row if isinstance(v, datetime)]
    assert sorted(sent_times) == sorted(others * 4)  # three ticket columns, one entry
