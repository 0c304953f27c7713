"""A real ``hotline-server`` process for the demo, and the guarantee that it goes away.

The server runs as a child process in its own session (process group), exactly as it would
in production, so the demo exercises the same code path as a real site. Everything the demo
starts is registered here and stopped on exit, including on Ctrl+C and on SIGTERM; a stop
that does not finish in time escalates to SIGKILL of the whole group, so no process is
left behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0


class DemoError(RuntimeError):
    """Something the demo needs did not work; the message says what, in one line."""


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(*args: str) -> list[str]:
    """``hotline-server ARGS`` run by this interpreter, so the demo never picks up another
    installation's server from PATH."""
    return [sys.executable, "-m", "hotline_server", *args]


def run_server_cli(args: Sequence[str], *, stdin: str | None = None, env: dict[str, str]) -> str:
    result = subprocess.run(
        server_command(*args),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["?"]
        raise DemoError(f"hotline-server {args[0]} failed: {last[0]}")
    return result.stdout


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGTERM when the demo dies, even
    when the demo itself is SIGKILLed or its terminal is closed (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class ChildProcess:
    """One process the demo started, stopped with its whole process group."""

    name: str
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@dataclass
class Children:
    """Everything the demo started, stopped in reverse order."""

    started: list[ChildProcess] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str], log: Path) -> ChildProcess:
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        child = ChildProcess(name, process)
        self.started.append(child)
        return child

    def stop_all(self) -> None:
        for child in reversed(self.started):
            child.stop()

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.started if c.alive()]


@dataclass
class EmbeddedServer:
    """A migrated database and a running server on a free loopback port."""

    workdir: Path
    children: Children
    telephony_token: str
    port: int = field(default_factory=free_loopback_port)
    process: ChildProcess | None = None

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.workdir / 'hotline.db'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOTLINE_DATABASE_URL": self.database_url,
            "HOTLINE_TELEPHONY_TOKEN": self.telephony_token,
        }

    def migrate(self) -> None:
        run_server_cli(["migrate", "--database", self.database_url], env=self.env())

    def add_user(self, name: str, role: str, password: str, display_name: str) -> None:
        run_server_cli(
            [
                "user",
                "add",
                name,
                "--role",
                role,
                "--display-name",
                display_name,
                "--database",
                self.database_url,
            ],
            stdin=password + "\n",
            env=self.env(),
        )

    def start(self) -> None:
        argv = server_command(
            "serve",
            "--database",
            self.database_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        )
        self.process = self.children.spawn(
            "hotline-server", argv, env=self.env(), log=self.log_path
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise DemoError(f"the demo server stopped at start; see {self.log_path}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise DemoError(f"the demo server did not answer within {START_TIMEOUT_SECONDS:.0f} s")
