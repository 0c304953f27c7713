"""The server's SQLite database (every citizen's ticket, the password hashes) is its owner's
alone: the file, its -wal and -shm are 0600 and the server's own data folder 0700, also when
that folder already existed with wider modes, whatever the umask. A folder an administrator
named in --database keeps its modes (it may be shared); the file in it is still 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.core.conftest import PASSWORD, Api, ticket_args
from tests.support.server import RunningServer, server_cli, start_server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _wide_umask() -> Iterator[None]:
    """The server processes inherit a umask that lets everything through."""
    old = os.umask(0)
    yield
    os.umask(old)


def _write_through(server: RunningServer) -> None:
    """A sign-in and a ticket over HTTP: the writes an agent's first call makes."""
    api = Api(server)
    with api.client("amy") as c:
        created = c.post("/api/v1/tickets", json=ticket_args(phone="021-64370000"))
    assert created.status_code == 201, created.text


def _database_files(db: Path) -> dict[str, int]:
    side = [Path(f"{db}-wal"), Path(f"{db}-shm")]
    assert all(p.exists() for p in side), "WAL mode: -wal and -shm exist while serving"
    return {p.name: mode(p) for p in (db, *side)}


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing-0755"])
def test_the_default_database_and_its_folder(existing: bool, tmp_path: Path) -> None:
    folder = Path(os.environ["XDG_DATA_HOME"]) / "hotline-server"
    db = folder / "hotline.db"
    if existing:  # as an older version left it: a world-readable folder and file
        folder.mkdir(mode=0o755)
        os.chmod(folder, 0o755)
        db.touch()
        os.chmod(db, 0o644)
    server_cli("migrate")  # no --database: the default file in the user data dir
    server_cli("user", "add", "amy", "--role", "agent", stdin=PASSWORD + "\n")
    assert mode(folder) == 0o700
    server = RunningServer(database_url=f"sqlite:///{db}", log_path=tmp_path / "server.log")
    server.start()
    try:
        _write_through(server)
        assert _database_files(db) == {"hotline.db": 0o600, "hotline.db-wal": 0o600,
                                       "hotline.db-shm": 0o600}  # fmt: skip
    finally:
        server.stop()
    assert mode(db) == 0o600 and mode(folder) == 0o700


def test_a_folder_named_in_database_keeps_its_modes(tmp_path: Path) -> None:
    site = tmp_path / "srv"
    site.mkdir()
    os.chmod(site, 0o755)
    db = site / "hotline.db"
    server = start_server(f"sqlite:///{db}", tmp_path, users={"amy": ("agent", PASSWORD)})
    try:
        _write_through(server)
        assert _database_files(db) == {"hotline.db": 0o600, "hotline.db-wal": 0o600,
                                       "hotline.db-shm": 0o600}  # fmt: skip
    finally:
        server.stop()
    assert mode(site) == 0o755  # the administrator's folder: not the server's to change
