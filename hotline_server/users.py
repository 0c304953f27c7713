"""User accounts: the embedding API (``add_user``) used by the CLI, the demo and tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline.model import Role
from hotline_server.db.engine import make_engine
from hotline_server.db.schema import users
from hotline_server.passwords import hash_password

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_PASSWORD = 8


class UserError(ValueError):
    """A user cannot be created as asked; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_new_user(username: str, password: str, role: str) -> Role:
    if not USERNAME.match(username):
        raise UserError(
            "username",
            f"username {username!r} must be 1-64 letters, digits, '.', '_' or '-'",
        )
    if len(password) < MIN_PASSWORD:
        raise UserError("password", f"the password needs at least {MIN_PASSWORD} characters")
    try:
        return Role(role)
    except ValueError:
        raise UserError("role", f"role must be agent, lead or admin, not {role!r}") from None


def add_user(
    database_url_or_engine: str | Engine,
    username: str,
    password: str,
    role: str = "agent",
    team: str | None = None,
    display_name: str | None = None,
    *,
    replace: bool = False,
) -> None:
    """Create a user (or, with ``replace``, reset an existing one's password, role, team)."""
    role_ = check_new_user(username, password, role)
    engine = (
        make_engine(database_url_or_engine)
        if isinstance(database_url_or_engine, str)
        else database_url_or_engine
    )
    values = {
        "password_hash": hash_password(password),
        "role": role_.value,
        "team": team or None,
        "display_name": display_name or None,
        "active": True,
    }
    try:
        with engine.begin() as conn:
            exists = conn.execute(
                sa.select(users.c.username).where(users.c.username == username)
            ).first()
            if exists and not replace:
                raise UserError("username", f"user {username!r} already exists")
            if exists:
                conn.execute(sa.update(users).where(users.c.username == username).values(values))
            else:
                conn.execute(
                    sa.insert(users).values(
                        username=username, created_at=datetime.now(UTC), **values
                    )
                )
    finally:
        if isinstance(database_url_or_engine, str):
            engine.dispose()


def ensure_users(engine: Engine, usernames: list[str], password: str, role: str = "agent") -> int:
    """Create the users that do not exist yet; returns how many were made."""
    made = 0
    with engine.connect() as conn:
        have = {
            r[0]
            for r in conn.execute(
                sa.select(users.c.username).where(users.c.username.in_(usernames))
            )
        }
    for name in usernames:
        if name not in have:
            add_user(engine, name, password, role)
            made += 1
    return made
