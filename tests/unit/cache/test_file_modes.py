"""What the desk keeps on disk is the user's alone: the cache, its WAL and SHM, config.toml,
an export and a cache moved aside are 0600, the app's folders 0700, also when those folders
already existed with wider modes, and whatever the umask is."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_tui.config import load_settings, remember
from agent_tui.lead.screen import _write_file
from offline_cache import locations, open_cache

T0 = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _wide_umask() -> Iterator[None]:
    """A umask that lets everything through, so only the app's own modes can narrow them."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def wide_app_dirs() -> None:
    """The app's folders exist already, world-readable (as an older version left them)."""
    where = locations()
    for folder in (where.config_dir, where.data_dir, where.log_dir):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o755)


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing-0755"])
def test_the_cache_its_wal_and_shm_after_a_saved_ticket(
    existing: bool, request: pytest.FixtureRequest
) -> None:
    if existing:
        request.getfixturevalue("wide_app_dirs")
    store = open_cache("modes")
    saved = store.create_ticket(
        {"caller_name": "张三", "phone": "13912345678", "account": "反映停水"},
        call_started_at=T0,
    )
    assert saved.ticket_id
    db = store.path
    side = [Path(f"{db}-wal"), Path(f"{db}-shm")]
    assert all(p.exists() for p in side)  # WAL mode, open: both are there to check
    assert {p.name: mode(p) for p in (db, *side)} == {p.name: 0o600 for p in (db, *side)}
    where = locations()
    for folder in (where.config_dir, where.data_dir, where.log_dir):
        assert mode(folder) == 0o700, folder
    store.close()


def test_a_cache_left_0644_by_an_older_version_is_tightened_when_opened() -> None:
    store = open_cache("older")
    store.close()
    db = store.path
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.touch()
        os.chmod(path, 0o644)
    again = open_cache("older")
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert mode(path) == 0o600, path
    again.close()


def test_an_unreadable_cache_moved_aside_stays_user_only() -> None:
    open_cache("broken").close()  # a real cache with its key in the keyring
    db = locations().ensure().cache_path("broken")
    db.write_bytes(b"not a database" * 512)  # then its file is damaged
    os.chmod(db, 0o644)
    store = open_cache("broken")
    assert store.recovery is not None
    moved = [Path(p) for p in store.recovery.moved_to]
    assert moved and all(mode(p) == 0o600 for p in moved)
    assert mode(store.path) == 0o600
    store.close()


def test_config_written_by_the_desk_is_0600_in_a_0700_folder(wide_app_dirs: None) -> None:
    settings = load_settings(env={})
    remember(settings, username="amy")
    assert settings.config_path.read_text(encoding="utf-8").count('"amy"') == 1
    assert mode(settings.config_path) == 0o600
    assert mode(settings.config_path.parent) == 0o700


def test_an_export_is_0600_and_only_the_apps_own_folder_is_tightened(tmp_path: Path) -> None:
    own = locations().data_dir / "exports" / "report.csv"
    _write_file(own, b"number,phone\n", own_folder=True)
    assert mode(own) == 0o600 and mode(own.parent) == 0o700

    chosen = tmp_path / "shared-reports"
    chosen.mkdir()
    os.chmod(chosen, 0o755)
    _write_file(chosen / "report.csv", b"number,phone\n", own_folder=False)
    assert mode(chosen / "report.csv") == 0o600
    assert mode(chosen) == 0o755  # the lead's own folder: not ours to change
    assert not list(chosen.glob("*.part"))
