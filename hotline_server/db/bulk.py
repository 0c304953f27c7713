"""Many rows into one table in one statement, on SQLite and on PostgreSQL.

SQLite: ``executemany`` of one prepared INSERT (the driver steps it per row, in C).
PostgreSQL: psycopg 3 runs an ``executemany`` as one INSERT per row (pipelined, but still a
statement each for the server to plan and run, and a dump per row in Python), so the rows
travel instead in one ``COPY table (columns) FROM STDIN`` (text format): no statement to
parse or plan, and each value goes through its column type's input function only. For a
batch of 100 new tickets (tickets, history, change log, stored answers) that took the
database's CPU from ~6.4 to ~3.9 ms and the server's from ~4.7 to ~4.0 ms against the JSON
array this sent before (``json_populate_recordset``, still used for ``returning``). Values
are converted as ``table.insert()`` would (each column type's bind processor: times in
UTC, a naive time refused); a ``json`` column stores the text the engine's serializer
makes, as a one-row insert does. A Python ``None`` becomes SQL NULL (where a one-row insert
would store JSON ``null`` in a ``json`` column: read back, both are ``None``). A refusal
raises the SQLAlchemy exception a statement would (``DataError``, ``IntegrityError``,
``OperationalError`` for a lost connection), its parameters the rows, and without the
line PostgreSQL adds to a COPY error quoting the refused value (a phone number, an ID card).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from itertools import repeat
from operator import is_, is_not, itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline_server.db.engine import json_text
from hotline_server.db.types import UtcDateTime

if TYPE_CHECKING:
    import psycopg

_STATEMENTS: dict[tuple[str, tuple[str, ...], bool], Any] = {}


class JsonText(str):
    """A JSON column's value already encoded, exactly as the engine would encode it
    (``json.dumps``): a SQLite bulk insert stores this text as it is. Every other path
    (PostgreSQL, a one-row insert) reads it back into its value first, so it is stored as
    that value would be. Made only where encoding it by hand is cheaper (a new ticket's
    history entry: a dict of one-key dicts, slow for the C encoder)."""


def _json_columns(table: sa.Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.c if isinstance(c.type, sa.JSON))


def _decoded(table: sa.Table, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """``rows`` with every :class:`JsonText` read back into its value (copies of the rows
    that hold one; the others as they are)."""
    columns = _json_columns(table)
    if not columns:
        return rows
    out: list[dict[str, Any]] = []
    for row in rows:
        if any(type(row.get(c)) is JsonText for c in columns):
            row = {**row, **{c: json.loads(row[c]) for c in columns
                             if type(row.get(c)) is JsonText}}  # fmt: skip
        out.append(row)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    enum_value = getattr(value, "value", None)
    if enum_value is not None:
        return enum_value
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _statement(conn: Connection, table: sa.Table, cols: tuple[str, ...], returning: bool) -> Any:
    key = (table.name, cols, returning)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in cols)
        text = (
            f"INSERT INTO {quote(table.name)} ({names}) SELECT {names}"
            f" FROM json_populate_recordset(NULL::{quote(table.name)}, CAST(:rows AS json))"
        )
        if returning:  # named, in the table's order: the result types match by position
            every = ", ".join(quote(c.name) for c in table.c)
            stmt = sa.text(f"{text} RETURNING {every}").columns(*table.c)
        else:
            stmt = sa.text(text)
        _STATEMENTS[key] = stmt
    return stmt


_SQLITE: dict[tuple[str, tuple[str, ...]], tuple[tuple[Any, ...], tuple[bool, ...]]] = {}


def _sqlite_insert(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> bool:
    """SQLite: the rows through the driver's ``executemany`` of one prepared INSERT, each
    value converted by its column type's own bind processor, as ``table.insert()`` would
    send it (so the same text and numbers are stored). SQLAlchemy's ``executemany`` spent
    more CPU building each row's parameters than SQLite spent storing the row. False (and
    nothing done) for a table with a Python-side default, which only SQLAlchemy fills in."""
    cols = tuple(rows[0])
    key = (table.name, cols)
    prepared = _SQLITE.get(key)
    if prepared is None:
        if any(c.default is not None or c.onupdate is not None for c in table.c):
            return False
        dialect = conn.dialect
        procs = tuple(
            _as_is_or(p, _direct_json(table.c[c].type, dialect))
            if isinstance(table.c[c].type, sa.JSON)
            else _utc_text_or(p) if isinstance(table.c[c].type, UtcDateTime)
            and dialect.name == "sqlite" else p
            for c, p in ((c, table.c[c].type._cached_bind_processor(dialect)) for c in cols)
        )  # fmt: skip
        prepared = _SQLITE[key] = (procs, tuple(_null_as_null(p) for p in procs))
    procs, nulls = prepared
    null_cols, params = _converted(rows, cols, procs, nulls)
    conn.exec_driver_sql(_insert_text(conn, table, cols, null_cols), params)
    return True


def _null_as_null(process: Any) -> bool:
    """Whether a column sends ``None`` as NULL (a JSON column sends it as ``'null'``)."""
    try:
        return process is None or process(None) is None
    except Exception:
        return False


_NONES = repeat(None)  # endless: paired with each column's values by map()
_SQLITE_TEXT: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}


def _insert_text(
    conn: Connection, table: sa.Table, cols: tuple[str, ...], null_cols: tuple[str, ...]
) -> str:
    """``INSERT INTO table (cols) VALUES (?, ...)`` with ``NULL`` written in for the
    columns in ``null_cols`` (what binding ``None`` there would store)."""
    key = (table.name, cols, null_cols)
    text = _SQLITE_TEXT.get(key)
    if text is None:
        quote = conn.dialect.identifier_preparer.quote
        values = ", ".join("NULL" if c in null_cols else "?" for c in cols)
        text = _SQLITE_TEXT[key] = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)})"
            f" VALUES ({values})"
        )
    return text


def _direct_json(column_type: Any, dialect: Any) -> Any:
    """:func:`json_text` when it is all the column's bind processor does with a dict (the
    engine's serializer, no string processing after it), else None."""
    if dialect._json_serializer is not json_text:
        return None
    if column_type._str_impl.bind_processor(dialect) is not None:
        return None
    return json_text


def _as_is_or(process: Any, direct: Any = None) -> Any:
    """A JSON column's bind processor that stores a :class:`JsonText` as it is; ``direct``:
    the serializer a dict goes to straight (see :func:`_direct_json`)."""
    if process is None:  # never, for sa.JSON: it always encodes
        return None
    if direct is None:

        def json_or_text(value: Any) -> Any:
            return str(value) if type(value) is JsonText else process(value)

        return json_or_text

    def json_or_direct(value: Any) -> Any:
        kind = type(value)
        if kind is dict:  # what ``process`` does with one: the serializer, and only that
            return direct(value)
        return str(value) if kind is JsonText else process(value)

    return json_or_direct


# A time in UTC as SQLite's DATETIME stores it (``UtcDateTime`` drops the offset, then
# SQLAlchemy formats ``%Y-%m-%d %H:%M:%S.%f``, six digits always): ``isoformat`` says the
# same in C, its ``+00:00`` cut off (and ``.000000`` added when it leaves them out).
_UTC_PROBES = (
    datetime(2026, 12, 7, 6, 4, 52, 842659, tzinfo=UTC),
    datetime(2026, 12, 7, 6, 4, 52, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)


def _utc_text_or(process: Any) -> Any:
    """A ``UtcDateTime`` column's SQLite bind processor with a fast way for a ``datetime``
    in UTC already (a push's times: the server's own clock and the desk's times, converted
    to UTC when its rows are built): ~2 -> 0.4 us a value. Anything else (another zone,
    a naive time, None) goes through ``process``. Kept only if it gives ``process``'s text
    for every probe (a SQLAlchemy release that changes the format turns it off)."""
    if process is None:
        return None

    def utc_text(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            text = value.isoformat(" ")
            return text[:-6] if value.microsecond else text[:-6] + ".000000"
        return process(value)

    return utc_text if all(utc_text(v) == process(v) for v in _UTC_PROBES) else process


def _converted(
    rows: Sequence[dict[str, Any]],
    cols: tuple[str, ...],
    procs: tuple[Any, ...],
    nulls: tuple[bool, ...],
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The columns that are ``None`` in every row (and send it as NULL: ``nulls``), to be
    written as ``NULL`` in the statement, and each row's other values in ``cols`` order,
    converted by ``procs``, a column at a time. Python's sqlite3 binds a ``None`` through
    its adapter lookup, two failed attribute reads with their exceptions (a new ticket has
    ~20 columns that are always NULL: ~4% of a push's CPU). The first column is always
    sent (a row of no values would insert nothing). The rows are read into columns by
    ``itemgetter`` (in C; a comprehension per column cost ~3 us per new ticket's 44), and a
    column holding one value object in every row (a batch's server time) is converted
    once."""
    if not rows:
        return (), []
    if len(cols) == 1:
        table: list[Sequence[Any]] = [[row[cols[0]] for row in rows]]
    else:
        table = list(zip(*map(itemgetter(*cols), rows), strict=True))
    columns: list[Sequence[Any]] = []
    null_cols: list[str] = []
    for i, (c, p, values) in enumerate(zip(cols, procs, table, strict=True)):
        if i and nulls[i] and not any(map(is_not, values, _NONES)):  # identity, in C
            null_cols.append(c)
            continue
        if p is not None:
            first = values[0]
            if all(map(is_, values, repeat(first))):
                values = [p(first)] * len(values)
            else:
                values = list(map(p, values))
        columns.append(values)
    return tuple(null_cols), list(zip(*columns, strict=True))


def _as_stored(row: dict[str, Any], times: tuple[str, ...]) -> dict[str, Any]:
    """A row that names every column, as reading it back would give it: the database
    generated nothing, and the one type that reads back other than it was sent is an aware
    time, in UTC (``UtcDateTime``); ``times``: the table's time columns."""
    out = dict(row)
    for k in times:
        v = out[k]
        if isinstance(v, datetime) and v.tzinfo is not UTC:
            out[k] = v.astimezone(UTC)
    return out


_TIMES: dict[str, tuple[str, ...]] = {}


def _time_columns(table: sa.Table) -> tuple[str, ...]:
    found = _TIMES.get(table.name)
    if found is None:
        found = _TIMES[table.name] = tuple(
            c.name for c in table.c if isinstance(c.type, sa.DateTime | UtcDateTime)
        )
    return found


def insert_many(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], *, returning: bool = False
) -> list[dict[str, Any]]:
    """Insert ``rows`` (all with the same keys, for the columns they name) in one statement;
    with ``returning``, the rows as stored (in no particular order), else []. Rows that
    name every column are not read back: they are stored as sent (see :func:`_as_stored`)."""
    if not rows:
        return []
    if returning and set(rows[0]) == set(table.c.keys()):
        insert_many(conn, table, rows)
        times = _time_columns(table)
        return [_as_stored(row, times) for row in _decoded(table, rows)]
    if conn.dialect.name != "postgresql":
        if not _sqlite_insert(conn, table, rows):
            conn.execute(table.insert(), list(_decoded(table, rows)))
        if not returning:
            return []
        (key,) = table.primary_key.columns
        ids = [row[key.name] for row in rows]
        query = sa.select(table).where(key.in_(ids))
        return [dict(r) for r in conn.execute(query).mappings()]
    if not returning:
        _pg_copy(conn, table, rows)
        return []
    cols = tuple(rows[0])
    rows = _decoded(table, rows)
    payload = json.dumps(list(rows), default=_plain, ensure_ascii=False, separators=(",", ":"))
    result = conn.execute(_statement(conn, table, cols, returning), {"rows": payload})
    return [dict(r) for r in result.mappings()]


_COPY: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[Any, ...]]] = {}


def _json_value(value: Any) -> Any:
    """A ``json`` column's text for COPY: what the engine's serializer stores (a
    :class:`JsonText` is that text already)."""
    if value is None:
        return None
    return str(value) if type(value) is JsonText else json_text(value)


def _pg_utc_text_or(process: Any) -> Any:
    """A ``UtcDateTime`` column's value for COPY: a ``datetime`` in UTC already (a push's
    times: the batch's clock and the desk's times, converted when its rows are built) as
    its ISO 8601 text, which ``timestamptz`` reads as the same instant; anything else (another
    zone, a naive time refused, None) through ``process``, and psycopg dumps what it gives.
    psycopg's own text dump of an aware time asks Python which dumper fits it, every value:
    ~3 us against ~0.5 us for ``isoformat`` (a new ticket sends seven times, five of them
    the batch's one clock reading: a column holding it in every row is converted once per
    batch by :func:`_converted`)."""
    if process is None:  # never, for UtcDateTime: it always checks the zone
        return None

    def utc_text(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return value.isoformat()
        return process(value)

    return utc_text


def _pg_copy(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL: ``rows`` through one ``COPY ... FROM STDIN`` on the connection's own
    transaction (see the module's doc)."""
    cols = tuple(rows[0])
    key = (table.name, cols)
    prepared = _COPY.get(key)
    if prepared is None:
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in cols)}) FROM STDIN"
        procs = tuple(
            _json_value if isinstance(table.c[c].type, sa.JSON)
            else _pg_utc_text_or(p) if isinstance(table.c[c].type, UtcDateTime)
            else p
            for c, p in ((c, table.c[c].type._cached_bind_processor(dialect)) for c in cols)
        )  # fmt: skip
        prepared = _COPY[key] = (sql, procs)
    sql, procs = prepared
    _, values = _converted(rows, cols, procs, (False,) * len(cols))  # COPY sends each NULL
    import psycopg

    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise _statement_error(conn, sql, rows, exc) from None


def _statement_error(
    conn: Connection, sql: str, rows: Sequence[dict[str, Any]], exc: psycopg.Error
) -> BaseException:
    """What SQLAlchemy raises for a failed statement (``DataError``, ``IntegrityError``...),
    for an error from COPY, which runs on the driver's connection: the connection is
    invalidated when it is lost, as SQLAlchemy does for a statement. PostgreSQL's COPY error
    ends with a CONTEXT line that quotes the refused value: the error is made again from
    its first line (same class, same SQLSTATE) so no caller's value reaches a log."""
    import psycopg

    refused: Any = exc  # a DB-API error, as the dialect expects it
    gone = conn.dialect.is_disconnect(refused, conn.connection.dbapi_connection, None)
    text = str(exc)
    if "\n" in text:
        exc = type(exc)(text.split("\n", 1)[0])
    wrapped = sa.exc.DBAPIError.instance(sql, list(rows), exc, psycopg.Error,
                                         hide_parameters=True, connection_invalidated=gone,
                                         dialect=conn.dialect)  # fmt: skip
    if gone:
        conn.invalidate(wrapped)
    return wrapped
