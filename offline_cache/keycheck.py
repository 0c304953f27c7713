"""Is this the cache file's key? Told apart from a damaged file before anything is moved.

SQLCipher answers "file is not a database" both for a wrong key and for a damaged first page,
and the two need opposite answers: a damaged file is moved aside and rebuilt (recovery.py),
but a file opened with the wrong key must stay exactly where it is, since the right key (a
keyring restored from a backup, unlocked again) reads all of it.

So beside the cache lives ``<cache>.keycheck``: an HMAC-SHA256 of a fixed text under the key.
It tells whether a key is the file's own without holding anything that helps to find the key
(the key is 32 random bytes). A cache made before this file existed has none; then
``PRAGMA cipher_integrity_check`` decides: with the right key most pages verify, with a wrong
one none does.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from contextlib import suppress
from pathlib import Path

import sqlcipher3  # type: ignore[import-untyped]

_LABEL = b"agent-tui cache key check v1"
_HEADER = "agent-tui-keycheck-v1"


def check_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".keycheck")


def _fingerprint(key: bytes) -> str:
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()


def remember(db_path: Path, key: bytes) -> None:
    """Write the key check beside a cache the key just opened (best effort: a read-only disk
    only loses the quicker verdict, the page check still decides)."""
    path = check_path(db_path)
    text = f"{_HEADER}\n{_fingerprint(key)}\n"
    with suppress(OSError):
        if path.exists() and path.read_text(encoding="ascii", errors="replace") == text:
            return
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="ascii")
        os.replace(tmp, path)


def _recorded(db_path: Path) -> str | None:
    try:
        lines = check_path(db_path).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    if len(lines) != 2 or lines[0] != _HEADER:
        return None
    return lines[1]


def _some_page_verifies(db_path: Path, key: bytes) -> bool:
    """With the right key only damaged pages fail their HMAC; with a wrong key every page."""
    try:
        conn = sqlcipher3.connect(str(db_path), isolation_level=None)
    except sqlcipher3.Error:
        return False
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("PRAGMA query_only = ON")
        failed = len(conn.execute("PRAGMA cipher_integrity_check").fetchall())
        pages = (db_path.stat().st_size + 4095) // 4096
        return failed < pages
    except (sqlcipher3.Error, OSError):
        return False
    finally:
        conn.close()


def is_wrong_key(db_path: Path, key: bytes) -> bool:
    """For a cache that did not open: True when ``key`` is not its key (leave the file be),
    False when the key is right and the file is damaged (recover it)."""
    recorded = _recorded(db_path)
    if recorded is not None:
        return not hmac.compare_digest(recorded, _fingerprint(key))
    return not _some_page_verifies(db_path, key)
