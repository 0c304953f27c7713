"""User accounts: the embedding API (``add_user``) used by the CLI, the demo and tests.

A password reset or a disable revokes every token of the user in the same transaction: an
account taken over, or a person who left, is signed out on every desk at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotline.model import Role
from hotline_server.db.engine import make_engine
from hotline_server.db.schema import tokens, users
from hotline_server.password_policy import password_problem
from hotline_server.passwords import hash_password

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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
    check_password(password, username)
    try:
        return Role(role)
    except ValueError:
        raise UserError("role", f"role must be agent, lead or admin, not {role!r}") from None


def revoke_all(conn: sa.Connection, username: str, now: datetime) -> int:
    """Revoke every live token of ``username`` (a reset, a disable, sign out everywhere);
    returns how many were live."""
    result = conn.execute(
        sa.update(tokens)
        .where(tokens.c.username == username, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


def check_password(password: str, username: str = "") -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise UserError("password", problem)


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
                revoke_all(conn, username, datetime.now(UTC))
            else:
                conn.execute(
                    sa.insert(users).values(
                        username=username, created_at=datetime.now(UTC), **values
                    )
                )
    finally:
        if isinstance(database_url_or_engine, str):
            engine.dispose()


def _engine(database_url_or_engine: str | Engine) -> Engine:
    if isinstance(database_url_or_engine, str):
        return make_engine(database_url_or_engine)
    return database_url_or_engine


def set_password(database_url_or_engine: str | Engine, username: str, password: str) -> int:
    """Reset a user's password and revoke all their tokens; returns how many were revoked."""
    check_password(password, username)
    values: dict[str, object] = {"password_hash": hash_password(password)}
    return _update_user(database_url_or_engine, username, values, revoke=True)


def set_active(database_url_or_engine: str | Engine, username: str, active: bool) -> int:
    """Disable (revoking all tokens; returns how many) or enable a user's sign-in (the tokens
    revoked at the disable stay revoked)."""
    return _update_user(database_url_or_engine, username, {"active": active}, revoke=not active)


def _update_user(
    database_url_or_engine: str | Engine, username: str, values: dict[str, object], *, revoke: bool
) -> int:
    engine = _engine(database_url_or_engine)
    try:
        with engine.begin() as conn:
            updated = conn.execute(
                sa.update(users).where(users.c.username == username).values(**values)
            )
            if updated.rowcount == 0:
                raise UserError("username", f"there is no user {username!r}")
            return revoke_all(conn, username, datetime.now(UTC)) if revoke else 0
    finally:
        if engine is not database_url_or_engine:
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
