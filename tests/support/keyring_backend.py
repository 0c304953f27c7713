"""TEST-ONLY keyring backends: real ``keyring.backend.KeyringBackend`` subclasses.

``MemoryKeyring`` keeps secrets in this process (the autouse fixture installs a fresh one per
test, so no test ever touches the developer's real keychain). ``FileKeyring`` keeps them in a
JSON file named by ``AGENT_TUI_TEST_KEYRING_FILE`` so a subprocess (a writer killed with
SIGKILL, ``agent-tui sync --once``) can share keys with the test; select it in the child with
``PYTHON_KEYRING_BACKEND=tests.support.keyring_backend.FileKeyring``.

The file variant stores secrets in PLAIN TEXT: it exists for tests only and must never be
offered to users (offline_cache refuses plain-text backends such as keyrings.alt).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_ENV = "AGENT_TUI_TEST_KEYRING_FILE"
FILE_BACKEND = "tests.support.keyring_backend.FileKeyring"


class MemoryKeyring(KeyringBackend):
    """Secrets in a dict of this process. Never selected by priority: installed explicitly."""

    priority = 0.1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self._items: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self._items.pop((service, username), None) is None:
                raise PasswordDeleteError(f"{service}/{username} not found")


class FileKeyring(KeyringBackend):
    """Secrets in the JSON file ``$AGENT_TUI_TEST_KEYRING_FILE`` (test-only, plain text)."""

    priority = 0.1  # type: ignore[assignment]

    def _path(self) -> Path:
        value = os.environ.get(FILE_ENV)
        if not value:
            raise RuntimeError(f"{FILE_ENV} is not set")
        return Path(value)

    def _load(self) -> dict[str, str]:
        """A missing or 0-byte file reads as an empty keyring, as a real file keyring's does
        (keyrings.cryptfile truncates its file, then writes it: a crash between leaves 0
        bytes, and every secret reads as absent)."""
        path = self._path()
        text = path.read_text() if path.exists() else ""
        return json.loads(text) if text.strip() else {}

    def _save(self, items: dict[str, str]) -> None:
        path = self._path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(items))
        os.replace(tmp, path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        items = self._load()
        items[f"{service}\x00{username}"] = password
        self._save(items)

    def delete_password(self, service: str, username: str) -> None:
        items = self._load()
        if items.pop(f"{service}\x00{username}", None) is None:
            raise PasswordDeleteError(f"{service}/{username} not found")
        self._save(items)


def subprocess_env(keyring_file: Path) -> dict[str, str]:
    """Environment for a child process that must see the same keys as ``FileKeyring`` here."""
    root = str(Path(__file__).resolve().parents[2])
    return {
        "PYTHON_KEYRING_BACKEND": FILE_BACKEND,
        FILE_ENV: str(keyring_file),
        "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
    }
