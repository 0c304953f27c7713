"""Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database per test.

PostgreSQL tests read HOTLINE_TEST_POSTGRES (e.g. postgresql://postgres@127.0.0.1:5432/test);
each test gets its own database created from it and dropped afterwards, so parallel runs and
several developers on one server never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_ENV = "HOTLINE_TEST_POSTGRES"
SKIP_MESSAGE = (
    f"PostgreSQL tests are off: set {POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test "
    "(a server you may create databases on) to run them; .ci/run always does"
)


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database, yield its URL (postgresql+psycopg://...), drop it after."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip(SKIP_MESSAGE)
    import psycopg

    plain_admin = admin.replace("postgresql+psycopg://", "postgresql://")
    name = "hotline_t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(plain_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _with_database(plain_admin, name)
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(plain_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_and_name(url: str) -> tuple[str, str]:
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    admin = (postgres_admin_url() or plain).replace("postgresql+psycopg://", "postgresql://", 1)
    return admin, urlsplit(plain).path.lstrip("/")


def backup_postgres_database(url: str) -> str:
    """Copy the database at ``url`` (no one may be connected: stop the server first) into a
    new database, last night's backup; returns the backup's name."""
    import psycopg

    admin, name = _admin_and_name(url)
    backup = f"{name}_bak"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{backup}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{backup}" TEMPLATE "{name}"')
    return backup


def restore_postgres_database(url: str, backup: str) -> None:
    """Replace the database at ``url`` by ``backup`` (which is used up), as an operator
    restoring a backup would; anyone still connected is cut off."""
    import psycopg

    admin, name = _admin_and_name(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'ALTER DATABASE "{backup}" RENAME TO "{name}"')


def drop_postgres_database(name: str) -> None:
    """Drop a database made by the helpers above, if it is still there."""
    import psycopg

    admin = postgres_admin_url()
    if admin is None:
        return
    with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        conn.autocommit = True
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
