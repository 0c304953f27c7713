"""Where the cache's encryption key comes from: a small pluggable ``KeyProvider``.

The default keeps 32 random bytes per (installation, profile) in the OS keyring (service
``agent-tui``). A machine with no usable keyring gets :class:`KeyringUnavailable` with the
documented choices -- never a silent plain-text fallback (``keyrings.alt`` is refused too,
since its files are plain text or keyed by a constant). The demo chooses
:class:`EphemeralKeyProvider` on purpose: its key lives in memory, so its throw-away cache is
unreadable once the process ends.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from typing import Any, Protocol, runtime_checkable

from offline_cache.deferred_imports import KEYRING_UNUSED, deferred
from offline_cache.errors import CacheError, KeyringPasswordWrong, KeyringUnavailable

SERVICE = "agent-tui"
KEY_BYTES = 32


@runtime_checkable
class KeyProvider(Protocol):
    """Gives the cache key of a profile; may create it. Must be safe to call from any thread."""

    def get_key(self, profile: str, *, create: bool = True) -> bytes | None:
        """The 32-byte key of ``profile``; a new random one if absent and ``create``."""
        ...

    def delete_key(self, profile: str) -> None:
        """Forget the key (logout "forget this laptop"): the cache becomes unreadable."""
        ...


def _key_entry(profile: str) -> str:
    return f"cache-key:{profile}"


# Backends that store secrets in plain text or not at all: refused, with the message.
_REFUSED_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def import_keyring() -> Any:
    """``keyring``, imported the first time without the modules it never runs for the desk
    (``deferred_imports.KEYRING_UNUSED``). Every first import of keyring in the cache goes
    through here: a plain ``import keyring`` first would run them all."""
    return deferred("keyring", KEYRING_UNUSED)


def usable_keyring() -> Any:
    """The active keyring backend, or :class:`KeyringUnavailable` if it can't hold secrets.

    keyring picks its backend by priority; when nothing real is found it picks the ``fail``
    backend (every call raises) or, when configured, ``null`` (stores nothing). A chainer
    with no members is also no backend. ``keyrings.alt`` is refused because it is the
    plain-text fallback ARCHITECTURE.md forbids.
    """
    keyring = import_keyring()
    from keyring.backends import chainer

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken PYTHON_KEYRING_BACKEND value, a dbus error...
        raise KeyringUnavailable(f"{type(exc).__name__}: {exc}") from exc
    members = list(backend.backends) if isinstance(backend, chainer.ChainerBackend) else [backend]
    if not members:
        raise KeyringUnavailable("keyring found no backend (chainer is empty)")
    for member in members:
        module = type(member).__module__
        if module.startswith(_REFUSED_MODULE_PREFIXES):
            raise KeyringUnavailable(f"backend {module}.{type(member).__name__} is not usable")
    return backend


def keyring_failure(exc: Exception, backend: Any) -> CacheError:
    """What a failed keyring call means to a person. A password-protected keyring
    (keyrings.cryptfile) refuses a mistyped password with a ValueError ("MAC check failed"):
    that is a wrong password, not a missing keyring. Anything else: KeyringUnavailable."""
    from keyring.backends import chainer

    members = list(backend.backends) if isinstance(backend, chainer.ChainerBackend) else [backend]
    has_password = any(isinstance(getattr(type(m), "keyring_key", None), property) for m in members)
    if has_password and isinstance(exc, ValueError):
        return KeyringPasswordWrong()
    return KeyringUnavailable(f"{type(exc).__name__}: {exc}")


class KeyringKeyProvider:
    """Keys in the OS keyring, hex-encoded under service ``agent-tui``."""

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service
        self._lock = threading.Lock()

    def get_key(self, profile: str, *, create: bool = True) -> bytes | None:
        backend = usable_keyring()
        with self._lock:  # two threads opening at once must not make two different keys
            try:
                stored = backend.get_password(self.service, _key_entry(profile))
                if stored is None and create:
                    stored = secrets.token_hex(KEY_BYTES)
                    backend.set_password(self.service, _key_entry(profile), stored)
            except KeyringUnavailable:
                raise
            except Exception as exc:  # locked collection, dbus gone, user cancelled
                raise keyring_failure(exc, backend) from exc
        if stored is None:
            return None
        try:
            key = bytes.fromhex(stored)
        except ValueError:  # not hex: some other program wrote the entry
            key = b""
        if len(key) != KEY_BYTES:
            raise KeyringUnavailable(
                f"the stored cache key of {profile!r} is not {KEY_BYTES} bytes"
            )
        return key

    def delete_key(self, profile: str) -> None:
        backend = usable_keyring()
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):  # already gone is fine
            backend.delete_password(self.service, _key_entry(profile))


class EphemeralKeyProvider:
    """Keys held in this process's memory only: for throw-away caches (the demo), chosen on
    purpose. A cache opened with it cannot be read after the process exits."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get_key(self, profile: str, *, create: bool = True) -> bytes | None:
        with self._lock:
            if profile not in self._keys and create:
                self._keys[profile] = secrets.token_bytes(KEY_BYTES)
            return self._keys.get(profile)

    def delete_key(self, profile: str) -> None:
        with self._lock:
            self._keys.pop(profile, None)
