"""Run the real `hotline-server` as a separate process (uvicorn) for integration tests.

Nothing here mocks the server: it is migrated and given users through its own Python API
(the CLI for both has its own tests), started as a process on a free loopback port and
stopped (or SIGKILLed) like in production.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run `hotline-server ARGS` to completion and return its stdout; raise on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "hotline_server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"hotline-server {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
        )
    return result.stdout


@dataclass
class RunningServer:
    """A live server process. `url` is its base URL, e.g. http://127.0.0.1:54321."""

    database_url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RunningServer:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hotline_server",
                "serve",
                "--database",
                self.database_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.extra_env},
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not come up: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown hooks run."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> RunningServer:
        self.stop()
        return self.start()


def prepare_database(database_url: str, users: dict[str, tuple[str, ...]] | None = None) -> None:
    """Migrate ``database_url`` and add ``users`` {name: (role, password[, team])} through the
    server's Python API, on one engine: what ``hotline-server migrate`` and ``user add`` do,
    without a Python start-up for each."""
    from hotline_server.db.engine import make_engine
    from hotline_server.db.migrate import upgrade
    from hotline_server.users import add_user as add

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        for name, (role, password, *team) in (users or {}).items():
            add(engine, name, password, role, team[0] if team else None)
    finally:
        engine.dispose()


def start_server(
    database_url: str,
    workdir: Path,
    users: dict[str, tuple[str, ...]] | None = None,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> RunningServer:
    """Migrate ``database_url``, add ``users`` {name: (role, password[, team])}, and start a
    server as its own process."""
    prepare_database(database_url, users)
    server = RunningServer(
        database_url=database_url,
        log_path=workdir / f"server-{uuid.uuid4().hex[:8]}.log",
        extra_env=extra_env or {},
        extra_args=extra_args or [],
    )
    return server.start()
