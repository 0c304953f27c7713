"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106).

Each hash holds 64 MiB while it runs and already uses several threads, so the sign-ins of a
whole shift arriving at once (200 agents after a restart) wait for a free slot instead of
running side by side: without the limit the server's memory rose to ~1.9 GB for a minute
(benchmarks/RESULTS.md, the peak-day replay), and more hashes at once than cores gain nothing.
"""

from __future__ import annotations

import os
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
HASH_SLOTS = max(2, os.cpu_count() or 2)
_slots = threading.BoundedSemaphore(HASH_SLOTS)
# Verified when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    with _slots:
        return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        with _slots:
            return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
