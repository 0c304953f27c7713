"""Live operations plugged into the core server: calls, seats, events, metrics, KB, forms.

The core server (``hotline_server.app``) calls ``install(app)`` once when it builds the app,
and ``changes_committed(app, seq)`` after every committed write that appended to the change
log, so the live side can poke event-stream subscribers. Keeping this seam narrow lets the
core and the live side evolve separately.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the live routers, mutation appliers and background tasks to ``app``."""
    from hotline_server.live import api, core
    from hotline_server.live.hub import LiveSettings

    # Read now, while the app is built: a bad HOTLINE_LIVE_* value is a ConfigError that
    # `hotline-server serve` reports in one line, before the server starts.
    app.state.live_settings = LiveSettings.from_env()
    app.include_router(api.router)
    core.install_core_hooks(app)
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with previous(a) as state:
            hub = start_hub(app)
            await hub.start()
            try:
                yield state
            finally:
                await hub.stop()

    app.router.lifespan_context = lifespan


def start_hub(app: FastAPI, clock: Callable[[], Any] | None = None) -> Any:
    """Make the per-process LiveHub for ``app`` (its engine must be in place)."""
    from hotline_server.live import core
    from hotline_server.live.hub import LiveHub
    from hotline_server.live.tasks import wire_hub

    engine = core.engine_of(app)
    url = engine.url.render_as_string(hide_password=False)
    settings = getattr(app.state, "live_settings", None)
    hub = (
        LiveHub(engine, url, settings)
        if clock is None
        else LiveHub(engine, url, settings, clock=clock)
    )
    wire_hub(hub)
    from hotline_server.live.scheduled import wire_site

    wire_site(hub, app)
    app.state.live = hub
    return hub


def changes_committed(
    app: FastAPI,
    seq: int,
    *,
    after: int | None = None,
    visible: set[tuple[str | None, str | None]] | None = None,
) -> None:
    """Tell subscribers that the change log now reaches ``seq`` (a data-free poke). A
    caller that knows the (team, owner) of every change in (``after``, ``seq``] passes them
    as ``visible``: the poke then goes out without reading them back from the database."""
    hub = getattr(app.state, "live", None)
    if hub is not None:
        hub.committed(seq, after, visible)
