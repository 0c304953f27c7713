"""Start a real server process quickly: migrate and add users through the Python API.

``tests.support.server.start_server`` does the same through the CLI (one Python start-up
per user); the CLI itself is covered by tests/integration/core/test_cli.py, so the other
integration tests save those seconds here. The server still runs as its own process.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.support.server import RunningServer


def start_server(
    database_url: str,
    workdir: Path,
    users: dict[str, tuple[str, str]] | None = None,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> RunningServer:
    from hotline_server.db.engine import make_engine
    from hotline_server.db.migrate import upgrade
    from hotline_server.users import add_user

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        for name, (role, password) in (users or {}).items():
            add_user(engine, name, password, role)
    finally:
        engine.dispose()
    server = RunningServer(
        database_url=database_url,
        log_path=workdir / f"server-{uuid.uuid4().hex[:8]}.log",
        extra_env=extra_env or {},
        extra_args=extra_args or [],
    )
    return server.start()
