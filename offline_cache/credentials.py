"""Bearer tokens from sign-in, kept only in the OS keyring (never in a file).

One entry per (profile, server): an agent with two profiles, or one profile pointed at a
training and a production server, never mixes their tokens.
"""

from __future__ import annotations

import contextlib

from offline_cache.keys import SERVICE, keyring_failure, usable_keyring


def _entry(profile: str, server: str) -> str:
    return f"token:{profile}:{server.rstrip('/')}"


def save_token(profile: str, server: str, token: str) -> None:
    """Store the token; :class:`~offline_cache.errors.KeyringUnavailable` if no keyring."""
    backend = usable_keyring()
    try:
        backend.set_password(SERVICE, _entry(profile, server), token)
    except Exception as exc:
        raise keyring_failure(exc, backend) from exc


def load_token(profile: str, server: str) -> str | None:
    """The stored token, or None when not signed in."""
    backend = usable_keyring()
    try:
        token = backend.get_password(SERVICE, _entry(profile, server))
    except Exception as exc:
        raise keyring_failure(exc, backend) from exc
    return token if isinstance(token, str) else None


def delete_token(profile: str, server: str) -> None:
    """Forget the token (logout). Missing is fine."""
    backend = usable_keyring()
    import keyring.errors

    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        backend.delete_password(SERVICE, _entry(profile, server))
