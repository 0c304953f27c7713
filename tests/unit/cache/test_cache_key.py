"""The cache key is never replaced: an existing cache opens only with its own key.

A keyring that reads as empty (its file truncated by a crash mid-write) or holds another key
is a clear stop that names the file and what to do -- never "corruption", never a new key,
never the file moved aside. Restoring the keyring gives everything back.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest

from offline_cache import (
    CacheError,
    CacheKeyMismatch,
    CacheKeyMissing,
    CacheStore,
    EphemeralKeyProvider,
    locations,
    open_cache,
)
from tests.support.keyring_backend import FILE_ENV, FileKeyring

T0 = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
KEY_ENTRY = "cache-key:desk"


def save_one_ticket(store: CacheStore) -> str:
    saved = store.create_ticket(
        {"caller_name": "王芳", "phone": "13912345678", "account": "小区停水三天"},
        call_started_at=T0,
    )
    assert saved.ticket_id is not None
    return saved.ticket_id


def cache_files(db: Path) -> dict[str, bytes]:
    """Every file of the cache folder (the cache, its WAL, anything moved aside)."""
    return {p.name: p.read_bytes() for p in sorted(db.parent.iterdir()) if p.is_file()}


@pytest.fixture
def file_keyring() -> Path:
    """The tests' file keyring, in this process: a file that can be emptied like a crash."""
    keyring.set_keyring(FileKeyring())
    import os

    return Path(os.environ[FILE_ENV])


def test_emptied_keyring_stops_clearly_and_loses_nothing(file_keyring: Path) -> None:
    store = open_cache("desk")
    tid = save_one_ticket(store)
    db = store.path
    store.close()
    kept = file_keyring.read_bytes()
    file_keyring.write_bytes(b"")  # what a crash in the middle of a keyring write leaves
    before = cache_files(db)

    with pytest.raises(CacheKeyMissing) as info:
        open_cache("desk")

    error = info.value
    assert str(db) in str(error) and str(db) in error.message("en")
    assert "钥匙串" in str(error) and "没有生成新密钥" in str(error)
    assert "Restore or unlock" in error.message("en")
    assert "corrupt" not in error.message("en").lower()
    assert cache_files(db) == before  # nothing moved aside, nothing written
    assert file_keyring.read_bytes() == b""  # no new key stored

    file_keyring.write_bytes(kept)  # the keyring restored from its backup
    again = open_cache("desk")
    try:
        assert again.recovery is None
        ticket = again.get_ticket(tid)
        assert ticket is not None and ticket.data["account"] == "小区停水三天"
        assert again.outbox_stats().size == 1  # the unsynced save is still there to send
    finally:
        again.close()


def test_another_key_in_the_keyring_is_a_mismatch_not_corruption(file_keyring: Path) -> None:
    store = open_cache("desk")
    tid = save_one_ticket(store)
    db = store.path
    store.close()
    backend = keyring.get_keyring()
    original = backend.get_password("agent-tui", KEY_ENTRY)
    backend.set_password("agent-tui", KEY_ENTRY, secrets.token_hex(32))
    before = cache_files(db)

    with pytest.raises(CacheKeyMismatch) as info:
        open_cache("desk")

    assert str(db) in info.value.message("en") and "not this file's key" in info.value.message("en")
    assert cache_files(db) == before
    backend.set_password("agent-tui", KEY_ENTRY, original)
    with open_cache("desk") as again:
        assert again.recovery is None and again.get_ticket(tid) is not None


def test_a_cache_from_before_the_key_check_still_tells_key_from_damage() -> None:
    """No ``.keycheck`` beside the file (made by an older agent-tui): the pages decide."""
    store = open_cache("old")
    tid = save_one_ticket(store)
    db = store.path
    store.close()
    Path(f"{db}.keycheck").unlink(missing_ok=True)
    backend = keyring.get_keyring()
    original = backend.get_password("agent-tui", "cache-key:old")
    backend.set_password("agent-tui", "cache-key:old", secrets.token_hex(32))
    with pytest.raises(CacheKeyMismatch):
        open_cache("old")
    assert not list(db.parent.glob("*.unreadable-*"))
    backend.set_password("agent-tui", "cache-key:old", original)
    with open_cache("old") as again:
        assert again.get_ticket(tid) is not None
        assert Path(f"{db}.keycheck").exists()  # written again at the first good open


def test_ephemeral_key_cache_cannot_be_opened_by_another_process(tmp_path: Path) -> None:
    """The demo's throw-away key is gone with its process: the file is not readable -- and is
    left as it is, not taken for corruption."""
    db = tmp_path / "demo.db"
    store = open_cache("demo", key_provider=EphemeralKeyProvider(), path=db)
    save_one_ticket(store)
    store.close()
    before = cache_files(db)
    with pytest.raises(CacheKeyMissing):
        open_cache("demo", key_provider=EphemeralKeyProvider(), path=db)
    assert cache_files(db) == before


def test_real_cryptfile_keyring_truncated_by_a_crash(tmp_path: Path) -> None:
    """keyrings.cryptfile itself: its file truncated to 0 bytes reads as empty; the cache is
    not given a new key (which would have been written into the keyring)."""
    cryptfile = pytest.importorskip("keyrings.cryptfile.cryptfile")
    backend = cryptfile.CryptFileKeyring()
    backend.file_path = str(tmp_path / "cryptfile_pass.cfg")
    backend.keyring_key = "the keyring password"  # a new keyring: its password is set
    keyring.set_keyring(backend)
    store = open_cache("desk")
    tid = save_one_ticket(store)
    db = store.path
    store.close()
    keyring_file = Path(backend.file_path)
    kept = keyring_file.read_bytes()
    keyring_file.write_bytes(b"")
    before = cache_files(db)

    with pytest.raises(CacheKeyMissing):
        open_cache("desk")

    assert keyring_file.read_bytes() == b""
    assert cache_files(db) == before
    keyring_file.write_bytes(kept)
    with open_cache("desk") as again:
        assert again.get_ticket(tid) is not None
    assert locations().cache_path("desk") == db


def test_a_garbled_key_entry_is_a_message_not_a_traceback() -> None:
    """An entry that is not 64 hex digits (another program wrote it): said, nothing made."""
    store = open_cache("desk")
    db = store.path
    store.close()
    keyring.get_keyring().set_password("agent-tui", KEY_ENTRY, "not hex at all")
    before = cache_files(db)
    with pytest.raises(CacheError) as info:
        open_cache("desk")
    assert "cache key" in info.value.message("en")
    assert cache_files(db) == before
