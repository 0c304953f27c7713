"""The DataError answer names the field whose value PostgreSQL refused (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from starlette.requests import Request

from hotline_server.db.engine import make_engine
from hotline_server.db.schema import metadata, tickets
from hotline_server.errors import unstorable_body, unstorable_field

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    metadata.create_all(engine, tables=[tickets])
    try:
        yield engine
    finally:
        engine.dispose()


def refused(engine: Engine, statement: sa.Executable) -> DataError:
    with pytest.raises(DataError) as caught, engine.begin() as conn:
        conn.execute(statement)
    return caught.value


def row(**kw: object) -> dict[str, object]:
    return {"id": "t1", "revision": 1, "status": "accepted", "disposition": "pending",
            "kind": "help", "category": "other", "urgency": "normal", "channel": "phone",
            "extra": {}, "call_started_at": NOW, "created_at": NOW, "created_by": "amy",
            "received_at": NOW, "updated_at": NOW, "field_revisions": {}, **kw}  # fmt: skip


def request(query: bytes = b"", path_params: dict[str, str] | None = None) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                    "query_string": query, "path_params": path_params or {}})  # fmt: skip


def test_too_long_out_of_range_and_nul_name_their_column(engine: Engine) -> None:
    long = refused(engine, sa.insert(tickets).values(row(phone="1" * 40)))
    assert unstorable_field(long) == "phone"
    body = unstorable_body(long, request())
    assert [f.field for f in body.fields] == ["phone"] and "too long" in body.message
    big = refused(engine, sa.insert(tickets).values(row(revision=2**40)))
    assert unstorable_field(big) == "revision"
    nul = refused(engine, sa.insert(tickets).values(row(address="漕溪北路\x001号")))
    assert unstorable_field(nul) == "address"
    with engine.begin() as conn:
        conn.execute(sa.insert(tickets).values(row()))
    update = refused(engine, sa.update(tickets).where(tickets.c.id == "t1")
                     .values(handling_unit="单位" * 40))  # fmt: skip
    assert unstorable_field(update) == "handling_unit"


def test_nul_in_a_query_or_path_parameter_is_named_as_the_request_named_it(
    engine: Engine,
) -> None:
    search = refused(engine, sa.select(tickets).where(tickets.c.account.like("%a\x00b%")))
    assert unstorable_field(search, request(b"limit=5&text=a%00b")) == "text"
    one = refused(engine, sa.select(tickets).where(tickets.c.id == "t\x00"))
    assert unstorable_field(one, request(path_params={"ticket_id": "t\x00"})) == "ticket_id"
    assert unstorable_field(one) == "id"  # without the request: the column
