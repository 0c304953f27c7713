"""The command line when the keyring cannot give what the cache needs: the message, a
non-zero exit, no traceback, and nothing touched."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import keyring

from offline_cache import open_cache
from tests.support.keyring_backend import FILE_ENV, FileKeyring
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[3]


def agent_tui(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from agent_tui.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_emptied_keyring_is_said_by_status_and_sync_and_nothing_is_touched() -> None:
    keyring.set_keyring(FileKeyring())  # the child processes read the same keyring file
    store = open_cache("cli")
    store.create_ticket(
        {"phone": "13912345678", "account": "路灯不亮"},
        call_started_at=datetime(2026, 11, 24, 8, 30, tzinfo=UTC),
    )
    db = store.path
    store.close()
    keyring_file = Path(os.environ[FILE_ENV])
    keyring_file.write_bytes(b"")  # a crash in the middle of a keyring write
    before = folder_bytes(db.parent)

    r = agent_tui("--lang", "en", "status", "--no-probe", "--profile", "cli")
    assert r.returncode == 6, (r.stdout, r.stderr)
    assert "the keyring holds no key for it" in r.stderr and str(db) in r.stderr
    assert "Traceback" not in r.stderr + r.stdout

    dead = f"http://127.0.0.1:{free_port()}"
    r = agent_tui("sync", "--once", "--profile", "cli", "--server", dead)
    assert r.returncode == 6, (r.stdout, r.stderr)
    assert "钥匙串中找不到它的加密密钥" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout

    assert folder_bytes(db.parent) == before  # not moved aside, not rewritten
    assert keyring_file.read_bytes() == b""  # and no new key was stored


def test_logout_without_a_usable_keyring_gives_the_message_not_a_traceback() -> None:
    fail = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    r = agent_tui("--lang", "en", "logout", **fail)
    assert r.returncode != 0
    assert "No usable keyring backend" in r.stderr and "keyrings.cryptfile" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    desk = agent_tui("--lang", "en", **fail)  # the desk itself says the same
    assert desk.returncode != 0
    first_line = r.stderr.strip().splitlines()[0]
    assert first_line in desk.stderr


def test_a_mistyped_cryptfile_password_is_said_as_such() -> None:
    """From a shell the real keyrings.cryptfile asks its password itself (no Textual there):
    a wrong one is "wrong keyring password", not "no usable keyring", and touches nothing."""
    import pytest

    cryptfile = pytest.importorskip("keyrings.cryptfile.cryptfile")
    backend = cryptfile.CryptFileKeyring()  # its file under this test's XDG_DATA_HOME
    backend.keyring_key = "the-right-one"
    keyring.set_keyring(backend)
    store = open_cache("cli")
    store.create_ticket(
        {"phone": "13912345678", "account": "井盖缺失"},
        call_started_at=datetime(2026, 11, 24, 8, 30, tzinfo=UTC),
    )
    db = store.path
    store.close()
    before = folder_bytes(db.parent), Path(backend.file_path).read_bytes()
    env = {"PYTHON_KEYRING_BACKEND": "keyrings.cryptfile.cryptfile.CryptFileKeyring"}

    args = ["--lang", "en", "status", "--no-probe", "--json", "--profile", "cli"]

    def status(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # no controlling terminal: getpass reads the piped stdin
            [sys.executable, "-c", "from agent_tui.cli import main; main()", *args],
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            start_new_session=True,
        )

    r = status("mistyped")
    assert r.returncode == 6, (r.stdout, r.stderr)
    assert "Wrong keyring password" in r.stderr and "No usable keyring" not in r.stderr
    assert "Traceback" not in r.stderr
    assert (folder_bytes(db.parent), Path(backend.file_path).read_bytes()) == before
    r = status("the-right-one")
    assert r.returncode == 0, r.stderr
    assert '"outbox": 1' in r.stdout


def test_the_desk_finds_its_keyring_on_a_thread_with_the_same_answer() -> None:
    """``agent-tui`` looks for the keyring beside its imports (keyring's choice takes ~65 ms
    without ``PYTHON_KEYRING_BACKEND``): the backend, or the refusal, is the one
    ``usable_keyring`` gives, found on another thread."""
    import threading

    import pytest
    from keyring.backends import fail

    from agent_tui.cli import _find_keyring
    from offline_cache import KeyringUnavailable, usable_keyring

    where: list[str] = []
    real = keyring.get_keyring

    def recorded() -> keyring.backend.KeyringBackend:
        where.append(threading.current_thread().name)
        return real()

    keyring.get_keyring = recorded  # type: ignore[assignment]
    try:
        assert _find_keyring().result(timeout=30) is usable_keyring()
    finally:
        keyring.get_keyring = real  # type: ignore[assignment]
    assert where[0] == "keyring-find" and where[1] == threading.current_thread().name

    keyring.set_keyring(fail.Keyring())
    refused = _find_keyring().exception(timeout=30)
    assert isinstance(refused, KeyringUnavailable)
    with pytest.raises(KeyringUnavailable) as exc:
        usable_keyring()
    assert refused.message("en") == exc.value.message("en")
