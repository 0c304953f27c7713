"""Keyring backends that ask for a password of their own (keyrings.cryptfile): asked by the
desk, never by the backend.

Such a backend asks with ``getpass`` on the terminal the first time a secret is read or
written. Under Textual the prompt is hidden behind the full-screen app: the desk hangs, Ctrl+Q
is dead, the terminal is left in full-screen mode. So the desk asks first, in a dialog of its
own, and gives the password to the backend here; after that the backend never prompts.

Found by shape, not by name (so keyrings.cryptfile stays an optional install): a
``keyring_key`` property that is still unset.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from offline_cache.errors import KeyringPasswordWrong
from offline_cache.keys import usable_keyring


def _asks_password(backend: Any) -> bool:
    return (
        isinstance(getattr(type(backend), "keyring_key", None), property)
        and getattr(backend, "_keyring_key", "") is None
    )


def locked_keyring() -> Any | None:
    """The keyring backend that would prompt for its password now, or None (no such backend,
    or already unlocked in this process). Raises KeyringUnavailable like every keyring use."""
    backend = usable_keyring()  # first: it imports keyring (offline_cache.keys.import_keyring)
    from keyring.backends import chainer

    members = list(backend.backends) if isinstance(backend, chainer.ChainerBackend) else [backend]
    return next((m for m in members if _asks_password(m)), None)


def is_new_keyring(backend: Any) -> bool:
    """Whether the keyring has no file yet (or an empty one): the password typed now is set
    for it, so the dialog asks for it twice."""
    check = getattr(backend, "_check_file", None)
    return not check() if callable(check) else False


def unlock_keyring(backend: Any, password: str) -> None:
    """Give ``password`` to the backend (slow: the backend derives its key, Argon2 ~0.6 s;
    call it from a thread). A new keyring is created with it. Wrong: KeyringPasswordWrong,
    and the backend is left locked, as before."""
    try:
        backend.keyring_key = password
    except (ValueError, AssertionError) as exc:
        with suppress(Exception):
            del backend.keyring_key
        raise KeyringPasswordWrong() from exc
