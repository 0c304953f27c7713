"""An unreadable cache file: moved aside (never deleted), a fresh cache made, and the unsynced
mutations and drafts SQLite can still read copied into it.

Same installation (client id readable): the mutation numbering continues, so the server's
``last_mutation_id`` still covers what it already applied and nothing is applied twice. Client
id lost: the salvaged mutations are renumbered under a new client id; a ``create_ticket`` the
server already had is then refused by its ticket id (kept as "needs attention"), never doubled.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlcipher3  # type: ignore[import-untyped]

from hotline.model import Status
from hotline.private_files import tighten
from hotline.wire_names import MutationName
from offline_cache.records import Recovery
from offline_cache.sqlbits import Clock, _meta, _norm_time, _set_meta

if TYPE_CHECKING:
    from offline_cache.store import CacheStore


def recover(
    db_path: Path, key: bytes, reason: str, clock: Clock | None, retention_days: int
) -> CacheStore:
    """Move the unreadable file (and its -wal/-shm) aside, open a fresh store, salvage."""
    from offline_cache.store import CacheStore

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = db_path.with_name(f"{db_path.name}.unreadable-{stamp}")
    moved: list[str] = []
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(db_path) + suffix)
        if src.exists():
            dst = Path(str(aside) + suffix)
            shutil.move(str(src), str(dst))
            tighten(dst)  # personal data still: user-only, as the cache was
            moved.append(str(dst))
    salvage = _salvage(aside, key)
    store = CacheStore(db_path, key, clock=clock, retention_days=retention_days)
    recovered = _restore(store, salvage)
    store.recovery = Recovery(
        moved_to=moved,
        recovered_mutations=recovered,
        reason=reason,
        message_zh=(
            f"本地缓存文件无法读取（{reason}），已移到 {aside}（未删除）。"
            f"已找回 {recovered} 条未同步的修改；其余数据将从服务器重新下载。"
        ),
        message_en=(
            f"The local cache could not be read ({reason}); it was moved to {aside} (not "
            f"deleted). {recovered} unsynced change(s) were recovered; the rest is downloaded "
            "again from the server."
        ),
    )
    return store


def _salvage(path: Path, key: bytes) -> dict[str, Any]:
    """Read what still reads from an unreadable cache, table by table, row by row."""
    out: dict[str, Any] = {"meta": {}, "outbox": [], "drafts": []}
    try:
        conn = sqlcipher3.connect(str(path), isolation_level=None)
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("PRAGMA query_only = ON")
    except sqlcipher3.Error:
        return out
    try:
        for table, sql in (
            ("meta", "SELECT key, value FROM meta"),
            (
                "outbox",
                "SELECT mutation_id, name, args, client_time, schema_version, ticket_id,"
                " entity_id FROM outbox ORDER BY mutation_id",
            ),
            (
                "drafts",
                "SELECT id, form_id, ticket_id, draft_values, created_at, updated_at FROM drafts",
            ),
        ):
            try:
                cursor = conn.execute(sql)
                while True:
                    try:
                        row = cursor.fetchone()
                    except sqlcipher3.Error:
                        break
                    if row is None:
                        break
                    if table == "meta":
                        out["meta"][row[0]] = row[1]
                    else:
                        out[table].append(tuple(row))
            except sqlcipher3.Error:
                continue
    finally:
        conn.close()
    return out


def _restore(store: CacheStore, salvage: dict[str, Any]) -> int:
    """Copy salvaged outbox rows and drafts into the fresh store; returns mutations kept."""
    meta: dict[str, str] = salvage["meta"]
    outbox: list[tuple[Any, ...]] = salvage["outbox"]
    with store._write() as conn:
        same_client = bool(meta.get("client_id"))
        if same_client:
            # Same installation: keep the client id and numbering, so the server's
            # last_mutation_id still covers what it already applied.
            _set_meta(conn, "client_id", meta["client_id"])
            last = int(meta.get("last_acked", "0") or 0)
            _set_meta(conn, "last_acked", str(last))
            _set_meta(conn, "next_mutation_id", meta.get("next_mutation_id", str(last + 1)))
        for key_name in ("user", "team", "role"):
            if key_name in meta:
                _set_meta(conn, key_name, meta[key_name])
        count = 0
        for mid, name, args, client_time, schema_version, ticket_id, entity_id in outbox:
            parsed = json.loads(args)
            if not same_client:
                mid = None  # renumber under the new client id
            if name == MutationName.CREATE_TICKET.value and ticket_id:
                data = {
                    **parsed,
                    "number": None,
                    "revision": 0,
                    "status": Status.ACCEPTED.value,
                    "created_by": meta.get("user", ""),
                    "team": meta.get("team") or None,
                }
                store._insert_ticket(conn, ticket_id, data, server_data=None)
            elif (
                ticket_id
                and conn.execute("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
            ):
                store._rebase(conn, ticket_id)
            if mid is None:
                mid = store._enqueue(
                    conn, MutationName(name), parsed, ticket_id=ticket_id, entity_id=entity_id
                )
                conn.execute(
                    "UPDATE outbox SET client_time = ?, schema_version = ? WHERE mutation_id = ?",
                    (client_time, schema_version, mid),
                )
            else:
                conn.execute(
                    "INSERT OR IGNORE INTO outbox (mutation_id, name, args, client_time,"
                    " schema_version, ticket_id, entity_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (mid, name, args, client_time, schema_version, ticket_id, entity_id),
                )
                if ticket_id:
                    conn.execute(
                        "UPDATE tickets SET pending = pending + 1 WHERE id = ?", (ticket_id,)
                    )
                nxt = int(_meta(conn, "next_mutation_id") or "1")
                _set_meta(conn, "next_mutation_id", str(max(nxt, mid + 1)))
            if name == MutationName.ADD_NOTE.value and ticket_id:
                conn.execute(
                    "INSERT OR IGNORE INTO notes (id, ticket_id, body, author, created_at,"
                    " pending) VALUES (?, ?, ?, ?, ?, 1)",
                    (
                        parsed.get("note_id"),
                        ticket_id,
                        parsed.get("body", ""),
                        meta.get("user", ""),
                        _norm_time(parsed.get("created_at")) or client_time,
                    ),
                )
            count += 1
        for did, form_id, tid, values, created, updated in salvage["drafts"]:
            conn.execute(
                "INSERT OR IGNORE INTO drafts (id, form_id, ticket_id, draft_values, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (did, form_id, tid, values, created, updated),
            )
    return count
