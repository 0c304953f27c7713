"""The FastAPI application: core routers, error handlers, and the live side plugged in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from hotline_server import errors
from hotline_server.db.engine import make_engine
from hotline_server.settings import Settings


class NotMigrated(RuntimeError):
    """The database schema is missing or older than this server."""


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
    live: bool = True,
    check_schema: bool = True,
) -> FastAPI:
    """Build the server. ``engine``/``clock`` are for embedding and tests; the default
    engine comes from ``settings.database_url``. Raises NotMigrated on an old schema."""
    from hotline_server.db.migrate import current_revision, head_revision

    settings = settings or Settings.from_env()
    engine = engine or make_engine(settings.database_url)
    if check_schema:
        have = current_revision(engine)
        if have != head_revision():
            raise NotMigrated(
                f"the database is not migrated (schema {have or 'empty'}, this server needs "
                f"{head_revision()}): run `hotline-server migrate --database URL` first"
            )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {}
        engine.dispose()

    app = FastAPI(
        title="hotline-server",
        version="1",
        summary="Central server of the 12345 hotline workstation (agent-tui)",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.clock = clock
    from hotline_server.policy import PolicyHolder, load_file

    app.state.policy = PolicyHolder(engine)
    if settings.policy_file:  # a bad file is a ConfigError: the server does not start
        from datetime import UTC

        now = clock() if clock is not None else datetime.now(UTC)
        app.state.policy.set(load_file(engine, settings.policy_file, now))
    errors.install(app)
    from hotline_server.limits import RequestLimits

    app.add_middleware(RequestLimits, max_body_bytes=settings.max_body_bytes)

    from hotline_server.api import auth_routes, health, policy_routes, sync_routes, ticket_routes
    from hotline_server.sync.appliers import register_core

    register_core()
    app.include_router(health.router)
    app.include_router(auth_routes.router)
    app.include_router(sync_routes.router)
    app.include_router(ticket_routes.router)
    app.include_router(policy_routes.router)
    if live:
        from hotline_server import live as live_side

        live_side.install(app)
    return app
