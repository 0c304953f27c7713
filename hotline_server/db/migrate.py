"""Run the shipped Alembic migrations from Python (the CLI, tests, the demo and benchmarks).

No ``alembic.ini`` at runtime: the script location is the ``hotline_server/migrations``
package folder, and the connection is handed to ``env.py`` directly.
"""

from __future__ import annotations

import functools
import secrets
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from hotline_server.db.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The shipped migrations' head: parsing the scripts costs ~0.1 s, and they are part of
    the installed package, so a process reads them once (app creation asks on every start)."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def upgrade(database_url_or_engine: str | Engine) -> str:
    """Bring the database to the newest schema (a no-op when it is there); returns the head.

    Also seeds the rows the server needs exactly once: the change-log counter and the epoch
    (a restored backup gets a new epoch with ``hotline-server`` tooling, not by accident)."""
    engine = (
        make_engine(database_url_or_engine)
        if isinstance(database_url_or_engine, str)
        else database_url_or_engine
    )
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # two instances starting at once migrate one after the other
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(74123450)"))
            command.upgrade(_config(conn), "head")
            _seed(conn)
    finally:
        if isinstance(database_url_or_engine, str):
            engine.dispose()
    return head_revision()


def _seed(conn: Connection) -> None:
    from hotline_server.db.schema import seq_counter, server_meta

    if conn.execute(sa.select(seq_counter.c.value).where(seq_counter.c.id == 1)).first() is None:
        conn.execute(sa.insert(seq_counter).values(id=1, value=0))
    epoch = conn.execute(sa.select(server_meta.c.value).where(server_meta.c.key == "epoch"))
    if epoch.first() is None:
        conn.execute(sa.insert(server_meta).values(key="epoch", value=secrets.token_hex(8)))


def new_epoch(database_url: str) -> str:
    """Give the server a new epoch: every client refetches (use after restoring a backup)."""
    from hotline_server.db.schema import server_meta

    engine = make_engine(database_url)
    value = secrets.token_hex(8)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(server_meta).where(server_meta.c.key == "epoch").values(value=value)
            )
    finally:
        engine.dispose()
    return value
