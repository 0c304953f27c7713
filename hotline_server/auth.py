"""Sign-in, opaque bearer tokens and roles.

Tokens are random (``secrets``) and stored only as their SHA-256, so a copy of the database
cannot sign anyone in. Failed logins are limited before the password is checked
(``hotline_server.login_limits``); past a limit the server answers 429 with Retry-After.
Telephony integrations use their own shared token (HOTLINE_TELEPHONY_TOKEN).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from hotline.model import Role
from hotline.protocol import LoginResponse, UserOut
from hotline_server import login_limits
from hotline_server.db.engine import write_transaction
from hotline_server.db.schema import tokens, users
from hotline_server.errors import problem
from hotline_server.passwords import verify_password
from hotline_server.settings import Settings
from hotline_server.users import revoke_all

bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    team: str | None = None
    display_name: str | None = None

    def out(self) -> UserOut:
        return UserOut(
            username=self.username, role=self.role, team=self.team, display_name=self.display_name
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now_of(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


# ---------------------------------------------------------------- login


def login(
    engine: Engine, settings: Settings, username: str, password: str, address: str, now: datetime
) -> LoginResponse:
    """Check a password: the attempt is counted before the hash runs (login_limits), and the
    token is issued only if the password checked is still the user's and the user active."""
    try:
        attempt_id = login_limits.reserve(engine, settings, username, address, now)
    except login_limits.TooManyAttempts as exc:
        minutes = math.ceil(exc.retry_after / 60)
        raise problem(
            429,
            f"too many failed sign-ins; try again in {minutes} minute(s)",
            exc.field,
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    stored = row["password_hash"] if row is not None else None
    ok = verify_password(stored, password) and row is not None and bool(row["active"])
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=settings.token_ttl_seconds)
    with write_transaction(engine) as conn:
        if ok:  # a reset or a disable while the hash ran wins: its row lock orders us
            current = conn.execute(
                sa.select(users.c.password_hash, users.c.active)
                .where(users.c.username == username)
                .with_for_update()
            ).first()
            ok = current is not None and bool(current.active) and current.password_hash == stored
        if ok:
            login_limits.record_success(conn, attempt_id, username, address, now)
            conn.execute(
                sa.insert(tokens).values(
                    token_hash=token_hash(token),
                    username=username,
                    created_at=now,
                    expires_at=expires,
                )
            )
            conn.execute(sa.delete(tokens).where(tokens.c.expires_at < now - timedelta(days=1)))
        login_limits.purge(conn, settings, now)
    if not ok or row is None:
        raise problem(401, "wrong user name or password", "password")
    user = User(username, Role(row["role"]), row["team"], row["display_name"])
    return LoginResponse(access_token=token, expires_at=expires, user=user.out())


def logout(engine: Engine, token: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(tokens)
            .where(tokens.c.token_hash == token_hash(token), tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def logout_everywhere(engine: Engine, username: str, now: datetime) -> int:
    """Revoke every token of ``username`` (``agent-tui logout --all``); returns how many."""
    with engine.begin() as conn:
        return revoke_all(conn, username, now)


# ---------------------------------------------------------------- dependencies


# Built once with a bound parameter: every request reads its token (building the statement
# per request cost more CPU than running it).
_USER_BY_TOKEN = (
    sa.select(users, tokens.c.expires_at, tokens.c.revoked_at)
    .join(tokens, tokens.c.username == users.c.username)
    .where(tokens.c.token_hash == sa.bindparam("token_hash"))
)


def user_for_token(engine: Engine, token: str, now: datetime) -> User | None:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # One statement, one snapshot: no transaction around it. In one, psycopg sends
            # BEGIN and the pool ROLLBACK, each a round trip of its own, on every request.
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        row = conn.execute(_USER_BY_TOKEN, {"token_hash": token_hash(token)}).mappings().first()
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
        return None
    if not row["active"]:
        return None
    return User(row["username"], Role(row["role"]), row["team"], row["display_name"])


def bearer_token(credentials: Credentials) -> str:
    if credentials is None or not credentials.credentials:
        raise problem(
            401,
            "not signed in: send Authorization: Bearer <token>",
            "Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


def current_user(request: Request, credentials: Credentials) -> User:
    """The signed-in user; 401 when the token is missing, unknown, expired or revoked."""
    token = bearer_token(credentials)
    user = user_for_token(engine_of(request), token, now_of(request))
    if user is None:
        raise problem(
            401,
            "the sign-in has expired or was revoked; sign in again",
            "Authorization",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_role(*roles: str) -> Callable[..., User]:
    """A dependency: the signed-in user, if their role is one of ``roles``; else 403."""
    allowed = {Role(r) for r in roles}

    def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = " or ".join(sorted(r.value for r in allowed))
            raise problem(403, f"this needs the {names} role; you are {user.role.value}", None)
        return user

    return dependency


def require_telephony(request: Request, credentials: Credentials) -> None:
    """The phone system's integration token (HOTLINE_TELEPHONY_TOKEN)."""
    expected = settings_of(request).telephony_token
    if expected is None:
        raise problem(401, "telephony is not configured (HOTLINE_TELEPHONY_TOKEN)", None)
    token = bearer_token(credentials)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise problem(401, "wrong telephony token", "Authorization")
