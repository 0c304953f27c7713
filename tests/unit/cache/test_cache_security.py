"""At rest the cache holds no personal data in clear; no keyring means a clear refusal;
a damaged cache is moved aside (never deleted) with its unsynced work recovered (a cache
whose key is missing or wrong is left alone: test_cache_key.py)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null

from offline_cache import (
    KeyringUnavailable,
    load_token,
    locations,
    open_cache,
    save_token,
)
from offline_cache.credentials import delete_token

NAME = "欧阳娜娜"
PHONE = "13912345678"
ID_CARD = "11010519491231002X"
T0 = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def needles() -> list[bytes]:
    return [
        NAME.encode("utf-8"),
        NAME.encode("utf-16-le"),
        PHONE.encode(),
        PHONE.encode("utf-16-le"),
        ID_CARD.encode(),
        "人民路".encode(),
    ]


def files_of(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def found_in(paths: list[Path]) -> list[str]:
    hits = []
    for path in paths:
        data = path.read_bytes()
        hits += [f"{path.name}: {n!r}" for n in needles() if n in data]
    return hits


def fill(store: object) -> None:
    from offline_cache import CacheStore

    assert isinstance(store, CacheStore)
    for i in range(30):
        tid = store.create_ticket(
            {
                "caller_name": NAME,
                "phone": PHONE,
                "id_card": ID_CARD,
                "address": f"黄浦区人民路{i}号",
                "account": f"{NAME}反映停水",
            },
            call_started_at=T0,
        ).ticket_id
        assert tid is not None
        store.add_note(tid, f"已联系{NAME}，电话{PHONE}")
    store.save_draft("intake", {"caller_name": NAME, "phone": PHONE})


def test_grep_finds_no_name_or_phone_in_db_wal_or_shm() -> None:
    store = open_cache("grep")
    fill(store)
    db = store.path
    paths = files_of(db)
    assert Path(f"{db}-wal") in paths  # the WAL holds the fresh pages: it must be checked too
    assert found_in(paths) == []
    assert store.search(NAME) and store.search(PHONE)  # ... and search still works
    store.close()
    assert found_in(files_of(db)) == []


def test_grep_would_find_them_in_a_plain_sqlite_file(tmp_path: Path) -> None:
    """The control: the grep above can fail -- a plain SQLite file shows both at once."""
    plain = tmp_path / "plain.db"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (name TEXT, phone TEXT)")
    conn.execute("INSERT INTO t VALUES (?, ?)", (NAME, PHONE))
    conn.commit()
    conn.close()
    assert found_in([plain])


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_no_usable_keyring_is_a_clear_refusal(backend: keyring.backend.KeyringBackend) -> None:
    keyring.set_keyring(backend)
    with pytest.raises(KeyringUnavailable) as info:
        open_cache("headless")
    text_zh, text_en = str(info.value), info.value.message("en")
    assert "gnome-keyring" in text_zh and "keyrings.cryptfile" in text_zh
    assert "PYTHON_KEYRING_BACKEND" in text_en and "never falls back" in text_en
    assert "Traceback" not in text_en
    assert not any(locations().data_dir.glob("cache-*"))  # nothing written in clear
    with pytest.raises(KeyringUnavailable):
        save_token("headless", "http://127.0.0.1:1", "secret")


def test_tokens_live_in_keyring_per_profile_and_server() -> None:
    save_token("p1", "http://a/", "tok-a")
    save_token("p2", "http://a", "tok-b")
    assert load_token("p1", "http://a") == "tok-a"
    assert load_token("p2", "http://a/") == "tok-b"
    assert load_token("p1", "http://other") is None
    delete_token("p1", "http://a")
    delete_token("p1", "http://a")  # twice is fine
    assert load_token("p1", "http://a") is None
    home = locations().config_dir.parent
    for path in home.rglob("*"):
        if path.is_file() and "keyring" not in path.name:
            assert b"tok-b" not in path.read_bytes()


def test_unreadable_cache_is_moved_aside_never_deleted() -> None:
    store = open_cache("broken")
    fill(store)
    db = store.path
    store.close()
    original = db.read_bytes()
    db.write_bytes(b"\0" * 4096 + original[4096:])  # page 1 destroyed
    again = open_cache("broken")
    try:
        assert again.recovery is not None
        moved = Path(again.recovery.moved_to[0])
        assert moved.exists() and moved.read_bytes()[4096:] == original[4096:]
        assert "未删除" in again.recovery.message_zh and "not deleted" in again.recovery.message_en
        assert again.integrity_check() == "ok"
    finally:
        again.close()


def test_damaged_ticket_pages_still_give_back_the_unsynced_outbox() -> None:
    store = open_cache("partly")
    fill(store)
    expected = [(m.mutation_id, m.name, m.args) for m in store.pending_mutations(limit=1000)]
    client_id = store.client_id
    root = store._conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'tickets'"
    ).fetchone()[0]
    db = store.path
    store.close()
    data = bytearray(db.read_bytes())
    page = 4096
    data[(root - 1) * page + 100 : root * page - 100] = b"\x55" * (page - 200)
    db.write_bytes(bytes(data))
    again = open_cache("partly")
    try:
        assert again.recovery is not None
        assert again.recovery.recovered_mutations == len(expected) == 60
        assert again.client_id == client_id  # same installation: numbering continues
        got = [(m.mutation_id, m.name, m.args) for m in again.pending_mutations(limit=1000)]
        assert got == expected
        assert again.counts().total == 30  # tickets rebuilt from their create mutations
        assert len(again.list_drafts()) == 1
        assert again.add_note(str(got[0][2]["id"]), "恢复后").mutation_id == 61
    finally:
        again.close()
