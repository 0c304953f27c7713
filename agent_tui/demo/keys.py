"""The demo's own keyring: secrets in this process's memory, for a throw-away desk.

The real desk refuses to run without an OS keyring (no plain-text fallback, ever). The demo
is different on purpose: its cache and token belong to a temporary directory that is removed
when it ends, so it keeps them in memory and needs no keychain on a fresh machine. It is set
explicitly, for the demo process only, and the demo says so when it starts.
"""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend


class DemoMemoryKeyring(KeyringBackend):
    """A keyring backend that forgets everything when the demo process ends."""

    priority = 1  # type: ignore[assignment]  # only ever chosen explicitly

    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        import keyring.errors

        with self._lock:
            if self._secrets.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError(username)


def use_demo_keyring() -> None:
    import keyring

    keyring.set_keyring(DemoMemoryKeyring())
