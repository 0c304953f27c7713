"""One engine factory for SQLite and PostgreSQL, so the rest of the server has one code path.

SQLite: WAL (readers never wait for the writer), ``busy_timeout`` (writers from several
processes queue instead of failing), foreign keys on, ``synchronous=FULL`` (an acknowledged
push survives power loss). pysqlite's own transaction handling is switched off and
SQLAlchemy emits ``BEGIN`` itself, so a writer can ask for ``BEGIN IMMEDIATE``: it takes
the write lock up front and can never fail half-way with "database is locked" when it
upgrades from reading to writing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from hotline_server.db.files import prepare_sqlite_file
from hotline_server.settings import normalize_database_url

BUSY_TIMEOUT_MS = 30_000
IMMEDIATE = {"hotline_begin": "IMMEDIATE"}
PREPARE_THRESHOLD = 1  # psycopg: prepare a statement at its second run on a connection


# ``json.dumps(value)`` exactly (same text stored), from one encoder made once and without
# the check for circular references (a JSON column's value comes from JSON or from the
# server's own dicts: it has none; one would raise RecursionError instead of ValueError).
# ``json.dumps`` builds that check's bookkeeping for every dict it enters: a new ticket
# writes five JSON values, two of them dicts of dicts.
_ENCODER = json.JSONEncoder(check_circular=False)
_ENCODE = _ENCODER.encode
# The C encoder ``JSONEncoder.encode`` makes anew for every value (with no circular check it
# keeps no state between calls), made once with json.dumps's own arguments (markers: none,
# default, ASCII strings, no indent, ": " and ", ", unsorted, no skipped keys, NaN allowed):
# a dict or list goes straight to it, without ``encode`` and ``iterencode`` around it
# (~1 us of a change-log entry's ~7).
_MAKE_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = None
if _MAKE_C_ENCODER is not None:
    _C_ENCODE = _MAKE_C_ENCODER(None, _ENCODER.default, json.encoder.encode_basestring_ascii,
                                None, ": ", ", ", False, False, True)  # fmt: skip


def json_text(value: Any) -> str:
    """The text a JSON column stores for ``value``: ``json.dumps(value)``."""
    kind = type(value)
    if kind is dict and not value:
        return "{}"  # every new ticket's ``extra`` and ``field_revisions``
    if _C_ENCODE is not None and (kind is dict or kind is list):
        return "".join(_C_ENCODE(value, 0))
    return _ENCODE(value)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine that never puts statement parameters (a caller's phone number, an ID-card
    number) into an exception's text: such text reaches logs and, by mistake, answers."""
    url = normalize_database_url(url)
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_serializer", json_text)
    if url.startswith("sqlite"):
        prepare_sqlite_file(url)  # 0600 before SQLite makes it with the umask's mode
        engine = sa.create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )  # fmt: skip
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # The most recently returned connection is handed out first: under light load one or
    # two connections serve every request, so what a connection keeps (below) is reused.
    kwargs.setdefault("pool_use_lifo", True)
    connect_args = dict(kwargs.pop("connect_args", {}))
    # A statement a connection runs a second time is prepared on the server (psycopg's
    # default: the fifth): PostgreSQL then skips parsing and planning it. A push runs ~12
    # statements whose text never changes; their parse and plan were ~a third of the
    # database's CPU for a batch of 100 creates until each pooled connection had run them
    # five times.
    connect_args.setdefault("prepare_threshold", PREPARE_THRESHOLD)
    return sa.create_engine(url, connect_args=connect_args, **kwargs)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN (see module doc)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("hotline_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


_writer_locks: dict[str, threading.RLock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(engine: Engine) -> threading.RLock:
    """This process's lock for writers to one SQLite database (keyed by its URL)."""
    key = str(engine.url)
    with _writer_locks_guard:
        lock = _writer_locks.get(key)
        if lock is None:
            lock = _writer_locks[key] = threading.RLock()
        return lock


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction that holds the database's write lock from its first statement
    on SQLite (``BEGIN IMMEDIATE``); on PostgreSQL an ordinary READ COMMITTED transaction
    whose callers lock the rows they serialize on (``SELECT ... FOR UPDATE``).

    On SQLite this process's writers first queue on an in-process lock, before they take a
    pooled connection. Without it every waiting writer held one of the pool's connections
    while SQLite's busy handler slept and polled (up to 100 ms a try), so under load the
    write lock sat free between polls and readers (token checks, pulls) waited for a
    connection. Writers from other processes still queue in ``busy_timeout``."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as conn, conn.begin():
            yield conn
        return
    with _writer_lock(engine), engine.connect() as conn:
        conn = conn.execution_options(**IMMEDIATE)
        with conn.begin():
            yield conn
