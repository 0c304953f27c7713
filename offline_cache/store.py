"""The durable local store: an encrypted SQLite (SQLCipher) file per profile.

Why SQLCipher (whole-file encryption) rather than AES-GCM on the personal fields: every query
the desk needs -- search by phone, name, ID-card number, address; Chinese full-text search of
the knowledge base; the open tickets of one caller number -- keeps working on plain columns and
indexes, and the WAL and shared-memory files are encrypted page by page too. Field encryption
would need blind indexes for equality and has no answer for substring search.

Durability (SYNC.md): ``journal_mode=WAL`` + ``synchronous=FULL`` (FULL in WAL mode survives
power loss; NORMAL does not), writers start with ``BEGIN IMMEDIATE`` so two writers never
deadlock on a lock upgrade. A save writes the ticket row and its outbox row in ONE transaction
and returns only after COMMIT: when a save method returns, the change survives SIGKILL.

Thread-safety: one connection per store, opened with ``check_same_thread=False`` and guarded
by a re-entrant lock, so any thread (Textual thread workers, ``asyncio.to_thread`` in the
replicator) may call any method. Calls are short (milliseconds on 100,000 tickets); async code
should still call through ``asyncio.to_thread`` so a commit's fsync never blocks the event loop.
Several *processes* may open one file: SQLite's own locking serializes them (busy timeout 5 s).
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlcipher3  # type: ignore[import-untyped]

from hotline.ids import provisional_number, uuid7
from hotline.model import Status
from hotline.validators import FieldError, validate_satisfaction
from hotline.wire_names import SCHEMA_VERSION, Entity, MutationName, MutationOutcome
from offline_cache import keycheck, records
from offline_cache.errors import (
    CacheClosed,
    CacheError,
    CacheKeyMismatch,
    CacheKeyMissing,
    InvalidChange,
    SaveFailed,
    UnknownTicket,
)
from offline_cache.keys import KeyProvider, KeyringKeyProvider
from offline_cache.locations import DEFAULT_PROFILE, Locations, check_profile, locations
from offline_cache.records import Draft, OutboxStats, QueueSort, QueueView, Recovery, SyncMeta
from offline_cache.recovery import recover
from offline_cache.schema import LATEST, MIGRATIONS
from offline_cache.sqlbits import (
    _ROW_COLUMNS,
    DEFAULT_RETENTION_DAYS,
    Clock,
    _args_json,
    _classify,
    _connect,
    _draft,
    _dumps,
    _fts_phrase,
    _is_unreadable,
    _like,
    _meta,
    _norm_time,
    _pt,
    _pt_opt,
    _rollback,
    _row,
    _set_meta,
    _snippet,
    _split_tags,
    _text_clause,
    _validate,
    parse_time,
    phone_key,
    utc_text,
)
from offline_cache.ticket_state import _ticket_columns, apply_local

# ---------------------------------------------------------------- the store


if TYPE_CHECKING:
    from pydantic import BaseModel

    from hotline.model import TicketFields
    from hotline.protocol import Mutation, MutationResult, PullResponse, PushResponse
    from offline_cache.records import (
        Attention,
        Counts,
        KbHit,
        LocalTicket,
        NoteRow,
        OutboxItem,
        Page,
        QueueQuery,
        Saved,
        TicketRow,
    )

# The protocol's models (``hotline.protocol``) are imported where a save, a push or a pull
# validates one, not with this module: opening the cache and reading it needs only their
# names (``hotline.wire_names``), and the models cost ~10 ms of CPU on the desk's way to its
# first screen. The replicator imports them anyway once the desk is up.

__all__ = ["CacheStore", "InvalidChange", "open_cache"]

_MUTATION_NAMES = frozenset(name.value for name in MutationName)
# utc_text's form: what the store writes for every mutation's client time
_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

COUNT_CAP = 1000  # a text search's total stops here: the pager shows "1000+"
# Attention rows the agent has not dismissed; dismissed ones stay, their kind prefixed "seen:".
_OPEN_ATTENTION = "kind NOT LIKE 'seen:%'"


class CacheStore:
    """The encrypted local store of one profile. Open it with :func:`open_cache`.

    Writes (``create_ticket``, ``update_ticket``, ``change_status``, ``add_note``, ...) return
    a :class:`Saved` only after COMMIT and raise :class:`SaveFailed` (disk full, read-only,
    I/O) or :class:`InvalidChange` otherwise -- nothing half-written either way.
    """

    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        clock: Clock | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        recovery: Recovery | None = None,
    ) -> None:
        """Open (or create) the store at ``path`` with ``key``. Prefer :func:`open_cache`,
        which also finds the key and moves an unreadable file aside."""
        self.path = path
        self.retention_days = retention_days
        self.recovery = recovery
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._conn: Any = _connect(path, key)
        self._key = key
        self._checkpoint_lock = threading.Lock()
        self._checkpoint_conn: Any = None
        self._migrate()
        self._probe()
        self._ensure_identity()

    # ------------------------------------------------------------ plumbing

    def now(self) -> datetime:
        return self._clock()

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self._lock:
            if self._conn is None:
                raise CacheClosed()
            yield self._conn

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any failure rolls back and raises SaveFailed."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise CacheClosed()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlcipher3.Error as exc:
                raise SaveFailed(_classify(exc), str(exc)) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlcipher3.Error as exc:
                _rollback(conn)
                raise SaveFailed(_classify(exc), str(exc)) from exc
            except BaseException:
                _rollback(conn)
                raise

    def _migrate(self) -> None:
        with self._lock:
            conn = self._conn
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > LATEST:
                raise CacheError(
                    f"缓存文件由更新版本的 agent-tui 创建（版本 {version}），请升级。",
                    f"The cache was written by a newer agent-tui (schema {version}); upgrade.",
                )
            while version < LATEST:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement)
                    version += 1
                    conn.execute(f"PRAGMA user_version = {version}")
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise

    def _probe(self) -> None:
        """Touch every table's root page and read the small tables whole, so a damaged file
        is found at open (and moved aside) rather than in the middle of a save."""
        with self._read() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND sql NOT LIKE 'CREATE VIRTUAL%'"
                )
            ]
            for name in names:
                conn.execute(f'SELECT * FROM "{name}" LIMIT 1').fetchall()
            for name in ("meta", "outbox", "attention", "drafts"):
                conn.execute(f"SELECT * FROM {name}").fetchall()

    def _ensure_identity(self) -> None:
        with self._write() as conn:
            if _meta(conn, "client_id") is None:
                _set_meta(conn, "client_id", str(uuid.uuid4()))
                _set_meta(conn, "next_mutation_id", "1")
                _set_meta(conn, "last_acked", "0")
                _set_meta(conn, "cursor", "0")
                _set_meta(conn, "gen", "0")

    def checkpoint(self) -> tuple[int, int]:
        """Copy the WAL back into the database (PASSIVE) on a connection of its own, so saves
        on the main connection go on meanwhile; the replicator calls this after each sync.
        Best effort: a failed checkpoint leaves the WAL, which holds every committed save.
        Returns (frames in the WAL, frames copied back)."""
        with self._checkpoint_lock:
            if self._conn is None:
                return (0, 0)
            try:
                if self._checkpoint_conn is None:
                    self._checkpoint_conn = _connect(self.path, self._key)
                row = self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlcipher3.Error:
                self._close_checkpointer()
                return (0, 0)
            return (int(row[1]), int(row[2]))

    def _close_checkpointer(self) -> None:
        if self._checkpoint_conn is not None:
            with suppress(sqlcipher3.Error):
                self._checkpoint_conn.close()
            self._checkpoint_conn = None

    def close(self) -> None:
        """Checkpoint and close. Safe to call twice."""
        with self._checkpoint_lock:
            self._close_checkpointer()
        with self._lock:
            if self._conn is not None:
                with suppress(sqlcipher3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.close()
                self._conn = None

    def __enter__(self) -> CacheStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` when the file is sound."""
        with self._read() as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)

    # ------------------------------------------------------------ identity and sync meta

    @property
    def client_id(self) -> str:
        """This installation's id (made once, kept in the cache; a new one only when the server
        bound this one to another user and nothing waits under it: :meth:`renew_client_id`)."""
        with self._read() as conn:
            value = _meta(conn, "client_id")
        assert value is not None
        return value

    def renew_client_id(self) -> str | None:
        """The server bound this cache's client id to another user (two users shared this
        cache; ids are bound to their first user). When nothing waits under the old id (no
        queued mutation, none kept aside) take a new one, starting again at mutation 1, and
        return it; the acknowledged log of the old id goes (the server has it all), and a full
        refetch starts (as :meth:`start_refetch`): the cache then holds what the user signed in
        now may see, not what the previous one could. Otherwise change nothing and return
        None: what waits must be sent by the id's own user."""
        with self._write() as conn:
            return _renew_client_id(conn)

    def set_identity(self, user: str | None, team: str | None, role: str | None = None) -> None:
        """Remember who is signed in (the queue's "mine" and "my team" read it).

        Another user taking this desk gets a client id of their own right here when nothing
        waits under the old one: the server binds an id to the first user who synced with it,
        and a ticket saved before the replicator's first round would otherwise be queued under
        the previous agent's id, where it can only wait (``wrong_user``) until they return."""
        with self._write() as conn:
            previous = _meta(conn, "user") or ""
            if previous and user and user != previous:
                _renew_client_id(conn)
            _set_meta(conn, "user", user or "")
            _set_meta(conn, "team", team or "")
            _set_meta(conn, "role", role or "")

    def sync_meta(self) -> SyncMeta:
        """Cursor, epoch, mutation counters and identity, for ``agent-tui status``."""
        with self._read() as conn:
            m = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        return SyncMeta(
            client_id=m["client_id"],
            cursor=int(m.get("cursor", "0")),
            epoch=m.get("epoch") or None,
            last_acked_mutation_id=int(m.get("last_acked", "0")),
            next_mutation_id=int(m.get("next_mutation_id", "1")),
            last_pull_at=parse_time(m.get("last_pull_at")),
            last_push_at=parse_time(m.get("last_push_at")),
            user=m.get("user") or None,
            team=m.get("team") or None,
            extra={"role": m.get("role") or None, "refetching": m.get("refetch") == "1"},
        )

    # ------------------------------------------------------------ writes: tickets

    def _enqueue(
        self,
        conn: Any,
        name: MutationName,
        args: dict[str, Any],
        *,
        ticket_id: str | None,
        entity_id: str | None,
    ) -> int:
        """Append one mutation to the outbox inside the caller's transaction."""
        next_id = int(_meta(conn, "next_mutation_id") or "1")
        floor = max(
            int(_meta(conn, "last_acked") or "0"),
            conn.execute("SELECT coalesce(max(mutation_id), 0) FROM outbox").fetchone()[0],
            conn.execute("SELECT coalesce(max(mutation_id), 0) FROM attention").fetchone()[0],
        )
        mutation_id = int(max(next_id, floor + 1))
        conn.execute(
            "INSERT INTO outbox (mutation_id, name, args, client_time, schema_version, ticket_id,"
            " entity_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                mutation_id,
                name.value,
                _dumps(args),
                utc_text(self.now()),
                SCHEMA_VERSION,
                ticket_id,
                entity_id,
            ),
        )
        _set_meta(conn, "next_mutation_id", str(mutation_id + 1))
        if ticket_id is not None:
            conn.execute("UPDATE tickets SET pending = pending + 1 WHERE id = ?", (ticket_id,))
        return mutation_id

    def create_ticket(
        self,
        fields: TicketFields | Mapping[str, Any],
        *,
        call_started_at: datetime,
        ticket_id: str | None = None,
        created_at: datetime | None = None,
        disposition: str = "pending",
        draft_id: str | None = None,
    ) -> Saved:
        """Save a new ticket: ticket row + ``create_ticket`` outbox row in ONE transaction.

        ``ticket_id`` is the UUIDv7 made when the draft opened (a new one if None);
        ``call_started_at``/``created_at`` are what the agent saw (client clock, kept: the
        red-ticket clock starts at the call). ``draft_id``, if given, is deleted in the same
        transaction, so a crash never leaves both a draft and its ticket -- nor neither.
        Returns after COMMIT. Raises :class:`InvalidChange` naming the field, or
        :class:`SaveFailed`.
        """
        from hotline.protocol import CreateTicketArgs

        base = dict(fields) if isinstance(fields, Mapping) else fields.model_dump(mode="json")
        tid = ticket_id or uuid7()
        created = created_at or self.now()
        args_model = _validate(
            CreateTicketArgs,
            {
                **base,
                "id": tid,
                "call_started_at": call_started_at,
                "created_at": created,
                "disposition": disposition,
            },
        )
        args = _args_json(args_model)
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM tickets WHERE id = ?", (tid,)).fetchone():
                raise InvalidChange("id", f"ticket {tid} already exists")
            user = _meta(conn, "user") or ""
            team = _meta(conn, "team") or None
            data = {
                **args,
                "number": None,
                "revision": 0,
                "status": Status.ACCEPTED.value,
                "escalation_level": 0,
                "created_by": user,
                "team": team,
                "assignee": user or None,
            }
            self._insert_ticket(conn, tid, data, server_data=None)
            mid = self._enqueue(
                conn, MutationName.CREATE_TICKET, args, ticket_id=tid, entity_id=tid
            )
            # The form's draft goes with it: by id, and by ticket id for an autosave that
            # raced the submit and has not told the form its id yet.
            conn.execute("DELETE FROM drafts WHERE id = ? OR ticket_id = ?", (draft_id, tid))
        return records.Saved(mid, tid, tid, provisional_number(tid))

    def _insert_ticket(
        self, conn: Any, tid: str, data: dict[str, Any], *, server_data: dict[str, Any] | None
    ) -> None:
        """Insert or update a ticket's indexed row and its documents. An existing row keeps
        its rowid (the full-text index follows through its triggers) and gets only the
        columns whose value changed: SQLite rewrites every index (18 on ``tickets``) that
        holds a column an UPDATE names, changed or not, and a pulled ticket (the desk's own,
        coming back after a drain) mostly changes its number, revision or status."""
        cols = _ticket_columns(data, self.now())
        cols["has_server"] = 1 if server_data is not None else 0
        cols["gen"] = int(_meta(conn, "gen") or "0")
        changed = _changed_columns(conn, tid, cols)
        if changed is None:
            names = ["id", *cols]
            conn.execute(
                f"INSERT INTO tickets ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [tid, *cols.values()],
            )
        elif changed:
            sets = ", ".join(f"{n} = ?" for n in changed)
            conn.execute(f"UPDATE tickets SET {sets} WHERE id = ?", [*changed.values(), tid])
        conn.execute(
            "INSERT INTO ticket_docs (id, data, server_data) VALUES (?, ?, ?) ON CONFLICT(id)"
            " DO UPDATE SET data = excluded.data, server_data = excluded.server_data",
            (tid, _dumps(data), _dumps(server_data) if server_data is not None else None),
        )

    def _set_display(self, conn: Any, tid: str, data: dict[str, Any]) -> None:
        """Write the ticket's display state. Only the columns whose value changed are set:
        SQLite rewrites every index (18 on ``tickets``) that holds a column an UPDATE names,
        changed or not, and most display changes (a status move) touch one or two of them.
        (The full-text trigger re-indexes a row only when an indexed value changed.)"""
        cols = _ticket_columns(data, self.now())
        changed = _changed_columns(conn, tid, cols)
        if changed is None:
            changed = cols
        if changed:
            sets = ", ".join(f"{n} = ?" for n in changed)
            conn.execute(f"UPDATE tickets SET {sets} WHERE id = ?", [*changed.values(), tid])
        conn.execute("UPDATE ticket_docs SET data = ? WHERE id = ?", (_dumps(data), tid))

    def _ticket_change(
        self, name: MutationName, model: type[BaseModel], args: dict[str, Any]
    ) -> Saved:
        validated = _args_json(_validate(model, args))
        tid = str(validated["ticket_id"])
        with self._write() as conn:
            row = conn.execute(
                "SELECT d.data, t.number FROM tickets t JOIN ticket_docs d ON d.id = t.id"
                " WHERE t.id = ?",
                (tid,),
            ).fetchone()
            if row is None:
                raise UnknownTicket(tid)
            data = apply_local(json.loads(row[0]), name, validated)
            self._set_display(conn, tid, data)
            entity = tid
            if name == MutationName.ADD_NOTE:
                entity = str(validated["note_id"])
                user = _meta(conn, "user") or ""
                conn.execute(
                    "INSERT INTO notes (id, ticket_id, body, author, created_at, pending)"
                    " VALUES (?, ?, ?, ?, ?, 1)",
                    (
                        entity,
                        tid,
                        validated["body"],
                        user,
                        _norm_time(validated["created_at"]),
                    ),
                )
            mid = self._enqueue(conn, name, validated, ticket_id=tid, entity_id=entity)
        return records.Saved(mid, tid, entity, row[1] or provisional_number(tid))

    def _base_revision(self, ticket_id: str) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT d.server_data, t.revision FROM tickets t JOIN ticket_docs d"
                " ON d.id = t.id WHERE t.id = ?",
                (ticket_id,),
            ).fetchone()
        if row is None:
            raise UnknownTicket(ticket_id)
        if row[0] is not None:
            return int(json.loads(row[0]).get("revision") or 0)
        return int(row[1] or 0)

    def update_ticket(
        self, ticket_id: str, changes: Mapping[str, Any], *, base_revision: int | None = None
    ) -> Saved:
        """Change some fields (only those given). ``base_revision`` defaults to the revision
        last pulled from the server -- what the agent saw (SYNC.md conflicts)."""
        from hotline.protocol import UpdateTicketArgs

        base = self._base_revision(ticket_id) if base_revision is None else base_revision
        return self._ticket_change(
            MutationName.UPDATE_TICKET,
            UpdateTicketArgs,
            {"ticket_id": ticket_id, "base_revision": base, "changes": dict(changes)},
        )

    def change_status(
        self,
        ticket_id: str,
        to: Status | str,
        *,
        reason: str | None = None,
        base_revision: int | None = None,
    ) -> Saved:
        """Move the ticket along the closed loop; the server's state machine has the last word
        (评价 records the caller's score: :meth:`record_callback`; the server refuses it here)."""
        from hotline.protocol import ChangeStatusArgs

        base = self._base_revision(ticket_id) if base_revision is None else base_revision
        return self._ticket_change(
            MutationName.CHANGE_STATUS,
            ChangeStatusArgs,
            {"ticket_id": ticket_id, "to": str(to), "base_revision": base, "reason": reason},
        )

    def add_note(
        self,
        ticket_id: str,
        body: str,
        *,
        note_id: str | None = None,
        created_at: datetime | None = None,
    ) -> Saved:
        """Append a note (append-only: never conflicts). ``Saved.entity_id`` is the note id."""
        from hotline.protocol import AddNoteArgs

        return self._ticket_change(
            MutationName.ADD_NOTE,
            AddNoteArgs,
            {
                "ticket_id": ticket_id,
                "note_id": note_id or uuid7(),
                "body": body,
                "created_at": created_at or self.now(),
            },
        )

    def escalate(self, ticket_id: str, reason: str) -> Saved:
        """Ask for the next escalation level (the server decides the level)."""
        from hotline.protocol import EscalateArgs

        return self._ticket_change(
            MutationName.ESCALATE, EscalateArgs, {"ticket_id": ticket_id, "reason": reason}
        )

    def merge_ticket(self, ticket_id: str, into_ticket_id: str) -> Saved:
        """并单: fold ``ticket_id`` into ``into_ticket_id``."""
        from hotline.protocol import MergeTicketArgs

        return self._ticket_change(
            MutationName.MERGE_TICKET,
            MergeTicketArgs,
            {"ticket_id": ticket_id, "into_ticket_id": into_ticket_id},
        )

    def record_callback(
        self,
        ticket_id: str,
        *,
        reached: bool = True,
        satisfaction: str | None = None,
        note: str | None = None,
    ) -> Saved:
        """回访 and 评价: the callback to the citizen; reached and scored (``satisfaction``, one
        of hotline.model.Satisfaction), the ticket is evaluated. A score that is not one of the
        levels, or a score for a caller not reached, is a FieldError on ``satisfaction``."""
        from hotline.protocol import RecordCallbackArgs

        if satisfaction is not None:
            if not reached:
                raise FieldError("satisfaction", "satisfaction_unreached")
            satisfaction = validate_satisfaction(satisfaction).value
        return self._ticket_change(
            MutationName.RECORD_CALLBACK,
            RecordCallbackArgs,
            {
                "ticket_id": ticket_id,
                "reached": reached,
                "satisfaction": satisfaction,
                "note": note,
            },
        )

    def record(self, name: MutationName, args: Mapping[str, Any]) -> Saved:
        """Queue a mutation that touches no cached ticket (``set_seat_state``,
        ``report_call``): validated against its hotline.protocol args model, then queued."""
        from hotline.protocol import MUTATION_ARGS

        if name in (
            MutationName.CREATE_TICKET,
            MutationName.UPDATE_TICKET,
            MutationName.CHANGE_STATUS,
            MutationName.ADD_NOTE,
            MutationName.ESCALATE,
            MutationName.MERGE_TICKET,
            MutationName.RECORD_CALLBACK,
        ):
            raise InvalidChange("name", f"{name.value}: use the ticket method of the store")
        validated = _args_json(_validate(MUTATION_ARGS[name], args))
        with self._write() as conn:
            mid = self._enqueue(conn, name, validated, ticket_id=None, entity_id=None)
        return records.Saved(mid, None, "", None)

    # ------------------------------------------------------------ drafts

    def save_draft(
        self,
        form_id: str,
        values: Mapping[str, Any],
        *,
        draft_id: str | None = None,
        ticket_id: str | None = None,
    ) -> Draft:
        """Autosave a form in progress (call it debounced on field changes). A new draft gets
        an id and a ticket id (the UUIDv7 the ticket will keep); an existing one is replaced.

        An autosave that lands after its ticket was saved (a debounced save racing the
        submit) keeps nothing: a saved call must never be offered for restore."""
        now = utc_text(self.now())
        did = draft_id or str(uuid.uuid4())
        with self._write() as conn:
            row = conn.execute(
                "SELECT ticket_id, created_at FROM drafts WHERE id = ?", (did,)
            ).fetchone()
            tid = ticket_id or (row[0] if row else None) or uuid7()
            created = row[1] if row else now
            if conn.execute("SELECT 1 FROM tickets WHERE id = ?", (tid,)).fetchone():
                conn.execute("DELETE FROM drafts WHERE id = ?", (did,))
                return Draft(did, form_id, dict(values), tid, _pt(created), _pt(now))
            conn.execute(
                "INSERT INTO drafts (id, form_id, ticket_id, draft_values, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET form_id ="
                " excluded.form_id, ticket_id = excluded.ticket_id, draft_values ="
                " excluded.draft_values, updated_at = excluded.updated_at",
                (did, form_id, tid, _dumps(dict(values)), created, now),
            )
        return Draft(did, form_id, dict(values), tid, _pt(created), _pt(now))

    def list_drafts(self) -> list[Draft]:
        """Drafts, newest first (offer to restore them after a crash)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, form_id, draft_values, ticket_id, created_at, updated_at FROM drafts"
                " ORDER BY updated_at DESC"
            ).fetchall()
        return [_draft(r) for r in rows]

    def get_draft(self, draft_id: str) -> Draft | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, form_id, draft_values, ticket_id, created_at, updated_at FROM drafts"
                " WHERE id = ?",
                (draft_id,),
            ).fetchone()
        return _draft(row) if row else None

    def delete_draft(self, draft_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM drafts WHERE id = ?", (draft_id,))

    # ------------------------------------------------------------ reads: tickets

    def get_ticket(self, ticket_id: str) -> LocalTicket | None:
        """One ticket in full (display state: my pending edits on top of the server's)."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT t.id, t.number, d.data, d.server_data, t.pending, t.attention"
                " FROM tickets t JOIN ticket_docs d ON d.id = t.id WHERE t.id = ?",
                (ticket_id,),
            ).fetchone()
        if row is None:
            return None
        return records.LocalTicket(
            id=row[0],
            display_number=row[1] or provisional_number(row[0]),
            data=json.loads(row[2]),
            server_data=json.loads(row[3]) if row[3] else None,
            pending=row[4],
            attention=row[5],
        )

    def find_by_number(self, number: str) -> LocalTicket | None:
        with self._read() as conn:
            row = conn.execute("SELECT id FROM tickets WHERE number = ?", (number,)).fetchone()
        return self.get_ticket(row[0]) if row else None

    def notes(self, ticket_id: str) -> list[NoteRow]:
        """Notes of a ticket, oldest first; ``pending`` until the server has them."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, ticket_id, body, author, created_at, pending FROM notes"
                " WHERE ticket_id = ? ORDER BY created_at, id",
                (ticket_id,),
            ).fetchall()
        return [records.NoteRow(r[0], r[1], r[2], r[3], _pt(r[4]), bool(r[5])) for r in rows]

    def _where(self, conn: Any, q: QueueQuery, *, with_sets: bool) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        user = q.user if q.user is not None else (_meta(conn, "user") or "")
        team = q.team if q.team is not None else (_meta(conn, "team") or "")
        if q.view == QueueView.MINE:
            clauses.append("owner = ?")
            params.append(user)
        elif q.view == QueueView.TEAM and not team:
            # No teams at this site (or none for this agent): the server shares every ticket
            # without a team, and those are the team's (hotline_server.tickets.can_see).
            clauses.append("team IS NULL")
        elif q.view == QueueView.TEAM:
            clauses.append("team = ?")
            params.append(team)
        elif q.view == QueueView.RED:
            clauses.append("red = 1")
        elif q.view == QueueView.OVERDUE:
            # Two small index lookups instead of a walk through every open ticket.
            clauses.append(
                "is_open = 1 AND rowid IN (SELECT rowid FROM tickets WHERE overdue = 1"
                " UNION SELECT rowid FROM tickets INDEXED BY tickets_deadline"
                " WHERE deadline_key < ?)"
            )
            params.append(utc_text(self.now()))
        elif q.view == QueueView.NEEDS_ATTENTION:
            clauses.append("attention > 0")
        if with_sets and q.statuses:
            clauses.append(f"status IN ({', '.join('?' * len(q.statuses))})")
            params += list(q.statuses)
        if with_sets and q.urgencies:
            clauses.append(f"urgency IN ({', '.join('?' * len(q.urgencies))})")
            params += list(q.urgencies)
        for token in q.text.split():
            clause, token_params = _text_clause(token, conn)
            clauses.append(clause)
            params += token_params
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _page_sql(self, conn: Any, query: QueueQuery) -> tuple[str, str, list[Any]]:
        """(page SQL, count SQL, params). Orders end on ``rowid`` (in every index) so each
        view + sort walks one index and never sorts the table (see schema.py)."""
        order = {
            QueueSort.TIME: "call_started_at DESC, rowid DESC",
            # Most urgent = least time left by the clocks (overdue first); finished tickets
            # have no deadline and come last.
            QueueSort.URGENCY: "deadline_key ASC, call_started_at ASC, rowid ASC",
            QueueSort.DEADLINE: "deadline_key ASC, call_started_at ASC, rowid ASC",
        }[query.sort]
        where, params = self._where(conn, query, with_sets=True)
        count = f"SELECT count(*) FROM tickets{where}"
        if query.text.strip():  # a search counts at most COUNT_CAP rows ("1000+")
            count = f"SELECT count(*) FROM (SELECT 1 FROM tickets{where} LIMIT {COUNT_CAP + 1})"
        return (
            f"SELECT {_ROW_COLUMNS} FROM tickets{where} ORDER BY {order} LIMIT ? OFFSET ?",
            count,
            params,
        )

    def queue_page(self, query: QueueQuery) -> Page:
        """One page of the queue: view + filters + sort, with the total for the pager."""
        limit = max(1, min(int(query.limit), 1000))
        offset = max(0, int(query.offset))
        with self._read() as conn:
            page_sql, count_sql, params = self._page_sql(conn, query)
            rows = conn.execute(page_sql, [*params, limit, offset]).fetchall()
            if len(rows) < limit and (rows or not offset):
                # The page ran out: that is the whole count. Saves the count's own walk, which
                # for a rare word of 1-2 characters (no trigram index) is the whole table.
                total = offset + len(rows)
            else:
                total = conn.execute(count_sql, params).fetchone()[0]
        now = self.now()
        capped = bool(query.text.strip()) and total > COUNT_CAP  # only searches stop counting
        return records.Page(
            [_row(r, now) for r in rows],
            min(total, COUNT_CAP) if capped else total,
            offset,
            limit,
            total_capped=capped,
        )

    def counts(self, query: QueueQuery | None = None) -> Counts:
        """Counts per status and per urgency for a view and text (status/urgency filters and
        paging are ignored: the counters are what the filter buttons show)."""
        q = query or records.QueueQuery()
        with self._read() as conn:
            where, params = self._where(conn, q, with_sets=False)
            by_status = dict(
                conn.execute(
                    f"SELECT status, count(*) FROM tickets{where} GROUP BY status", params
                ).fetchall()
            )
            by_urgency = dict(
                conn.execute(
                    f"SELECT urgency, count(*) FROM tickets{where} GROUP BY urgency", params
                ).fetchall()
            )
        return records.Counts(by_status, by_urgency, sum(by_status.values()))

    def search(self, text: str, *, limit: int = 50) -> list[TicketRow]:
        """Tickets matching every word of ``text`` in number, phone, name, ID-card number,
        address or account; newest call first."""
        return self.queue_page(records.QueueQuery(text=text, limit=limit)).rows

    def open_tickets_for_phone(self, phone: str, *, limit: int = 20) -> list[TicketRow]:
        """Open tickets of one caller number, newest first (duplicate warning, screen pop)."""
        key = phone_key(phone)
        return self._open_tickets("phone_key = ?", key, limit) if key else []

    def open_tickets_at_address(self, address: str, *, limit: int = 20) -> list[TicketRow]:
        """Open tickets at exactly this address (spaces around it aside), newest first: the
        repeated-request warning when the caller's number is new but the place is not."""
        wanted = address.strip()
        return self._open_tickets("trim(address) = ?", wanted, limit) if wanted else []

    def _open_tickets(self, match: str, value: str, limit: int) -> list[TicketRow]:
        """Open tickets where ``match`` (one indexed condition, one parameter), newest first."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM tickets WHERE {match} AND is_open = 1"
                " ORDER BY call_started_at DESC LIMIT ?",
                (value, limit),
            ).fetchall()
        now = self.now()
        return [_row(r, now) for r in rows]

    # ------------------------------------------------------------ KB, forms, seats

    def kb_search(self, text: str, *, limit: int = 20) -> list[KbHit]:
        """Knowledge-base articles matching every word of ``text`` (Chinese works offline:
        trigram FTS for words of 3+ characters, substring match for shorter ones);
        title matches first, then newest."""
        clauses: list[str] = []
        params: list[Any] = []
        for token in text.split():
            if len(token) >= 3:
                clauses.append("rowid IN (SELECT rowid FROM kb_fts WHERE kb_fts MATCH ?)")
                params.append(_fts_phrase(token))
            else:
                like = _like(token)
                clauses.append(
                    "(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\'"
                    " OR tags LIKE ? ESCAPE '\\')"
                )
                params += [like, like, like]
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        first = text.split()[0] if text.split() else ""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, title, body, category, tags, updated_at FROM kb{where}"
                " ORDER BY (instr(title, ?) > 0) DESC, updated_at DESC LIMIT ?",
                [*params, first, limit],
            ).fetchall()
        return [
            records.KbHit(r[0], r[1], _snippet(r[2], first), r[3], _split_tags(r[4]), _pt_opt(r[5]))
            for r in rows
        ]

    def kb_article(self, article_id: str) -> dict[str, Any] | None:
        """The full article as the server sent it (KbArticleOut shape)."""
        with self._read() as conn:
            row = conn.execute("SELECT data FROM kb WHERE id = ?", (article_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def forms(self) -> dict[str, Any] | None:
        """The last form set pulled from the server (FormsOut shape), or None: then the UI
        uses the shipped forms."""
        with self._read() as conn:
            value = _meta(conn, "forms")
        return json.loads(value) if value else None

    def units(self) -> list[dict[str, Any]] | None:
        """The handling-unit directory last fetched from the server, or None (then the desk
        offers the shipped directory, ``hotline.units``)."""
        with self._read() as conn:
            value = _meta(conn, "units")
        data = json.loads(value) if value else None
        return data if isinstance(data, list) else None

    def set_units(self, units: list[dict[str, Any]]) -> None:
        """Keep the server's handling-unit directory for offline use."""
        with self._write() as conn:
            _set_meta(conn, "units", _dumps(units))

    def seats(self) -> list[dict[str, Any]]:
        """Seat states last pulled (leads see which desks are offline)."""
        with self._read() as conn:
            rows = conn.execute("SELECT data FROM seats ORDER BY agent").fetchall()
        return [json.loads(r[0]) for r in rows]

    # ------------------------------------------------------------ outbox and attention

    def outbox(self, *, limit: int = 100, after: int = 0) -> list[OutboxItem]:
        """The oldest ``limit`` pending mutations after mutation ``after``, in mutation_id
        order (the push order)."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT mutation_id, name, args, client_time, schema_version, ticket_id"
                " FROM outbox WHERE mutation_id > ? ORDER BY mutation_id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            records.OutboxItem(r[0], r[1], json.loads(r[2]), _pt(r[3]), r[4], r[5]) for r in rows
        ]

    def outbox_stats(self) -> OutboxStats:
        """Outbox size, the client time of the oldest pending mutation, needs-attention count."""
        with self._read() as conn:
            size, oldest = conn.execute("SELECT count(*), min(client_time) FROM outbox").fetchone()
            attention, rejected = conn.execute(
                "SELECT count(*), coalesce(sum(kind = 'rejected'), 0) FROM attention"
                f" WHERE {_OPEN_ATTENTION}"
            ).fetchone()
        return OutboxStats(size, _pt_opt(oldest), attention, rejected)

    def needs_attention(self, *, seen: bool = False) -> list[Attention]:
        """Rejected changes and lost conflicts, oldest first; nothing is dropped silently.
        ``seen=True``: the ones the agent has dismissed instead (kind ``seen:rejected``...),
        kept as the ticket's record of what the server refused."""
        where = "NOT " + _OPEN_ATTENTION if seen else _OPEN_ATTENTION
        with self._read() as conn:
            rows = conn.execute(
                "SELECT mutation_id, kind, name, args, ticket_id, reason, field, conflict, at"
                f" FROM attention WHERE {where} ORDER BY mutation_id"
            ).fetchall()
        return [
            records.Attention(
                r[0],
                r[1],
                r[2],
                json.loads(r[3]),
                r[4],
                r[5],
                r[6],
                json.loads(r[7]) if r[7] else None,
                _pt(r[8]),
            )
            for r in rows
        ]

    def dismiss_attention(self, mutation_id: int) -> None:
        """The agent has seen (and acted on) a rejected change or conflict: it leaves the
        needs-attention list but is kept, marked seen (``needs_attention(seen=True)``)."""
        with self._write() as conn:
            row = conn.execute(
                f"SELECT ticket_id FROM attention WHERE mutation_id = ? AND {_OPEN_ATTENTION}",
                (mutation_id,),
            ).fetchone()
            if row is None:
                return
            conn.execute(
                "UPDATE attention SET kind = 'seen:' || kind WHERE mutation_id = ?", (mutation_id,)
            )
            if row[0]:
                conn.execute(
                    "UPDATE tickets SET attention = max(0, attention - 1) WHERE id = ?", (row[0],)
                )

    def pending_mutations(self, *, limit: int = 100, after: int = 0) -> list[Mutation]:
        """The next push batch as wire models (hotline.protocol.Mutation), in order;
        ``after``: the last mutation id already sent whose answer is still being recorded."""
        from hotline.protocol import Mutation

        return [
            Mutation(
                mutation_id=item.mutation_id,
                name=MutationName(item.name),
                args=item.args,
                client_time=item.client_time,
                schema_version=item.schema_version,
            )
            for item in self.outbox(limit=limit, after=after)
        ]

    def pending_wire(self, *, limit: int = 100, after: int = 0) -> list[tuple[int, bytes]]:
        """The next push batch as it goes on the wire: per mutation, in order, its id and its
        JSON in UTF-8 (compact, unescaped), the bytes ``Mutation.model_dump(mode="json")``
        encodes to, built from the stored text without parsing it (the args are stored
        as that JSON already). A row the shortcut cannot vouch for (args not a JSON object,
        an unknown name, a time not in the store's form) goes through ``Mutation`` as before.
        ``after``: the last mutation id already sent whose answer is not recorded yet."""
        from hotline.protocol import Mutation

        with self._read() as conn:
            rows = conn.execute(
                "SELECT mutation_id, name, args, client_time, schema_version,"
                " json_valid(args) AND json_type(args) = 'object'"
                " FROM outbox WHERE mutation_id > ? ORDER BY mutation_id LIMIT ?",
                (after, limit),
            ).fetchall()
        out: list[tuple[int, bytes]] = []
        for mid, name, args, at, version, is_object in rows:
            if (
                is_object
                and name in _MUTATION_NAMES
                and type(version) is int
                and version >= 1
                and isinstance(at, str)
                and _STORED_TIME.fullmatch(at)
            ):
                # pydantic writes a whole second without its fraction
                wire_time = at[:-8] + "Z" if at.endswith(".000000Z") else at
                text = (
                    f'{{"mutation_id":{mid},"name":"{name}","args":{args},'
                    f'"client_time":"{wire_time}","schema_version":{version}}}'
                )
            else:
                model = Mutation(
                    mutation_id=mid,
                    name=MutationName(name),
                    args=json.loads(args),
                    client_time=_pt(at),
                    schema_version=version,
                )
                text = _dumps(model.model_dump(mode="json"))
            out.append((mid, text.encode()))
        return out

    def _acknowledge(
        self, conn: Any, last_mutation_id: int, results: Sequence[MutationResult] = ()
    ) -> int:
        """Clear outbox rows covered by the server's ``last_mutation_id``; keep rejected ones
        aside with their reason; record conflicts; take assigned numbers and revisions."""
        by_id = {r.mutation_id: r for r in results}
        # The args are read only for the few mutations kept aside (they are the bulk of a row).
        rows = conn.execute(
            "SELECT mutation_id, name, ticket_id, entity_id FROM outbox"
            " WHERE mutation_id <= ? ORDER BY mutation_id",
            (last_mutation_id,),
        ).fetchall()
        now = utc_text(self.now())
        refused: list[int] = []  # rejected: kept aside, not in the sent log
        notes: list[tuple[str]] = []  # notes the server now has
        pending: dict[str, int] = {}  # ticket id -> its pending mutations acknowledged here
        numbers: dict[str, str] = {}  # ticket id -> the number the server gave it
        for mid, name, ticket_id, entity_id in rows:
            result = by_id.get(mid)
            rejected = result is not None and (
                result.outcome == MutationOutcome.REJECTED
                # A duplicate replays the first answer without its outcome: only a rejection
                # carries a reason and no revision (hotline_server/sync/push.py).
                or (
                    result.outcome == MutationOutcome.DUPLICATE
                    and bool(result.reason)
                    and result.revision is None
                )
            )
            if result is not None and (rejected or result.conflict):
                (args,) = conn.execute(
                    "SELECT args FROM outbox WHERE mutation_id = ?", (mid,)
                ).fetchone()
                kind = "rejected" if rejected else "conflict"
                _keep_aside(conn, mid, kind, name, args, ticket_id, result, now)
            if rejected:
                refused.append(mid)
            elif name == MutationName.ADD_NOTE.value:
                notes.append((entity_id,))
            if ticket_id is not None:
                pending[ticket_id] = pending.get(ticket_id, 0) + 1
                if result is not None and not rejected and result.ticket_number:
                    numbers[ticket_id] = result.ticket_number
        # One statement per kind of write for the whole answer (a batch is ~100 mutations).
        sent = (
            "INSERT OR REPLACE INTO sent (mutation_id, name, args, client_time, schema_version,"
            " ticket_id, entity_id, acked_at) SELECT mutation_id, name, args, client_time,"
            " schema_version, ticket_id, entity_id, ? FROM outbox"
        )
        if refused:
            refused_set = set(refused)
            conn.executemany(
                sent + " WHERE mutation_id = ?",
                [(now, r[0]) for r in rows if r[0] not in refused_set],
            )
        else:
            conn.execute(sent + " WHERE mutation_id <= ?", (now, last_mutation_id))
        conn.executemany("UPDATE notes SET pending = 0 WHERE id = ?", notes)
        # The pending count and the server's number in one write of each ticket's row.
        conn.executemany(
            "UPDATE tickets SET pending = max(0, pending - ?) WHERE id = ?",
            [(n, tid) for tid, n in pending.items() if tid not in numbers],
        )
        conn.executemany(
            "UPDATE tickets SET pending = max(0, pending - ?), number = ? WHERE id = ?",
            [(n, numbers[tid], tid) for tid, n in pending.items() if tid in numbers],
        )
        _take_numbers(conn, numbers)
        conn.execute("DELETE FROM outbox WHERE mutation_id <= ?", (last_mutation_id,))
        acked = max(int(_meta(conn, "last_acked") or "0"), last_mutation_id)
        _set_meta(conn, "last_acked", str(acked))
        nxt = int(_meta(conn, "next_mutation_id") or "1")
        if nxt <= acked:
            _set_meta(conn, "next_mutation_id", str(acked + 1))
        if pending:
            # Only a ticket with a server state is rebased (a new one shows its local preview)
            rebased = conn.execute(
                "SELECT id FROM ticket_docs WHERE server_data IS NOT NULL"
                " AND id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(pending)),),
            ).fetchall()
            for (tid,) in rebased:
                self._rebase(conn, tid)
        return len(rows)

    def _rebase(self, conn: Any, ticket_id: str) -> None:
        """Display = last server state + my still-pending mutations on top (local edits win on
        screen until acknowledged). Without a server state the local preview stays."""
        row = conn.execute(
            "SELECT server_data, data FROM ticket_docs WHERE id = ?", (ticket_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return
        data: dict[str, Any] = json.loads(row[0])
        local = json.loads(row[1])
        if not data.get("number") and local.get("number"):
            data["number"] = local["number"]
        pending = conn.execute(
            "SELECT name, args FROM outbox WHERE ticket_id = ? ORDER BY mutation_id",
            (ticket_id,),
        ).fetchall()
        for name, args in pending:
            data = apply_local(data, name, json.loads(args))
        self._set_display(conn, ticket_id, data)

    def server_forgot(self, server_last_mutation_id: int) -> int:
        """The server's ``last_mutation_id`` for us is below what it once acknowledged: it was
        restored from an older backup. Put the acknowledged mutations it lost back in the
        outbox (from the ``sent`` log, kept for the retention period), in order. Returns how
        many were re-queued. Replay is safe: every mutation is idempotent on the server."""
        with self._write() as conn:
            acked = int(_meta(conn, "last_acked") or "0")
            if server_last_mutation_id >= acked:
                return 0
            rows = conn.execute(
                "SELECT mutation_id, name, args, client_time, schema_version, ticket_id, entity_id"
                " FROM sent WHERE mutation_id > ? ORDER BY mutation_id",
                (server_last_mutation_id,),
            ).fetchall()
            for row in rows:
                conn.execute(
                    "INSERT OR IGNORE INTO outbox (mutation_id, name, args, client_time,"
                    " schema_version, ticket_id, entity_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                if row[5]:
                    conn.execute("UPDATE tickets SET pending = pending + 1 WHERE id = ?", (row[5],))
            conn.execute("DELETE FROM sent WHERE mutation_id > ?", (server_last_mutation_id,))
            _set_meta(conn, "last_acked", str(server_last_mutation_id))
        return len(rows)

    def apply_push_result(self, response: PushResponse) -> int:
        """Record a push answer in one transaction; returns how many outbox rows left."""
        with self._write() as conn:
            cleared = self._acknowledge(conn, response.last_mutation_id, response.results)
            _set_meta(conn, "last_push_at", utc_text(self.now()))
        return cleared

    # ------------------------------------------------------------ pull

    def start_refetch(self, epoch: str | None) -> None:
        """Begin a full refetch (new server epoch, or a lost cursor): cursor back to 0 and a
        new generation; rows not seen again by the end of the refetch are dropped then --
        except tickets with pending or rejected changes of mine. The outbox is kept whole."""
        with self._write() as conn:
            gen = int(_meta(conn, "gen") or "0") + 1
            _set_meta(conn, "gen", str(gen))
            _set_meta(conn, "cursor", "0")
            _set_meta(conn, "refetch", "1")
            if epoch is not None:
                _set_meta(conn, "epoch", epoch)

    def apply_pull(self, page: PullResponse) -> int:
        """Apply one pull page AND store its cursor in one transaction; also clear the outbox
        rows its ``last_mutation_id`` covers. The caller handles an epoch change first
        (:meth:`start_refetch`). Returns the number of changes applied."""
        with self._write() as conn:
            stored_epoch = _meta(conn, "epoch")
            if stored_epoch is None:
                _set_meta(conn, "epoch", page.epoch)
            elif stored_epoch != page.epoch:
                raise CacheError(
                    "服务器数据已恢复（纪元变化），需要重新同步。",
                    f"server epoch changed ({stored_epoch} -> {page.epoch}): refetch first",
                )
            gen = int(_meta(conn, "gen") or "0")
            for change in page.changes:
                self._apply_change(
                    conn, change.entity, change.entity_id, change.op, change.data, gen
                )
            _set_meta(conn, "cursor", str(page.cursor))
            _set_meta(conn, "last_pull_at", utc_text(self.now()))
            self._acknowledge(conn, page.last_mutation_id)
            if not page.has_more and _meta(conn, "refetch") == "1":
                self._sweep(conn, gen)
                _set_meta(conn, "refetch", "0")
        return len(page.changes)

    def _note_lost_values(self, conn: Any, ticket_id: str, lost: Any) -> None:
        """A same-field conflict this desk lost (SYNC.md: the agent who lost sees both): the
        server names the client and mutation whose value it replaced; ours become "needs
        attention" items of kind ``conflict``, mine = what we wrote, theirs = what was kept."""
        from hotline.protocol import MutationResult

        if not isinstance(lost, dict):
            return
        me = _meta(conn, "client_id")
        now = utc_text(self.now())
        for field, item in lost.items():
            if not isinstance(item, dict) or item.get("client_id") != me:
                continue
            mid = item.get("mutation_id")
            if not isinstance(mid, int):
                continue
            pair = {"mine": item.get("lost"), "theirs": item.get("kept"), "kept": "theirs",
                    "by": item.get("kept_by")}  # fmt: skip
            reason = f"{field}: replaced by {item.get('kept_by') or 'a later change'}"
            result = MutationResult(
                mutation_id=mid,
                outcome=MutationOutcome.APPLIED,
                reason=reason,
                field=f"changes.{field}",
                ticket_id=ticket_id,
                conflict={field: pair},
            )
            args = json.dumps({"ticket_id": ticket_id, "changes": {field: item.get("lost")}})
            _keep_aside(conn, mid, "conflict", "update_ticket", args, ticket_id, result, now)

    def _apply_change(
        self, conn: Any, entity: Entity, entity_id: str, op: str, data: dict[str, Any], gen: int
    ) -> None:
        if entity == Entity.TICKET:
            if op == "delete":
                conn.execute(
                    "DELETE FROM tickets WHERE id = ? AND pending = 0 AND attention = 0",
                    (entity_id,),
                )
                return
            server = dict(data)
            server.setdefault("id", entity_id)
            self._note_lost_values(conn, entity_id, server.pop("lost_values", None))
            row = conn.execute("SELECT pending FROM tickets WHERE id = ?", (entity_id,)).fetchone()
            self._insert_ticket(conn, entity_id, server, server_data=server)
            if row is not None and row[0]:
                count = conn.execute(
                    "SELECT count(*) FROM outbox WHERE ticket_id = ?", (entity_id,)
                ).fetchone()[0]
                conn.execute("UPDATE tickets SET pending = ? WHERE id = ?", (count, entity_id))
                self._rebase(conn, entity_id)
            attention = conn.execute(
                f"SELECT count(*) FROM attention WHERE ticket_id = ? AND {_OPEN_ATTENTION}",
                (entity_id,),
            ).fetchone()[0]
            conn.execute(
                "UPDATE tickets SET attention = ?, gen = ? WHERE id = ?",
                (attention, gen, entity_id),
            )
        elif entity == Entity.NOTE:
            if op == "delete":
                conn.execute("DELETE FROM notes WHERE id = ?", (entity_id,))
                return
            conn.execute(
                "INSERT INTO notes (id, ticket_id, body, author, created_at, pending, gen)"
                " VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body,"
                " author = excluded.author, created_at = excluded.created_at, pending = 0,"
                " gen = excluded.gen",
                (
                    entity_id,
                    str(data.get("ticket_id") or ""),
                    str(data.get("body") or ""),
                    str(data.get("author") or ""),
                    _norm_time(data.get("created_at")) or utc_text(self.now()),
                    gen,
                ),
            )
        elif entity == Entity.KB_ARTICLE:
            if op == "delete":
                conn.execute("DELETE FROM kb WHERE id = ?", (entity_id,))
                return
            tags = data.get("tags") or []
            conn.execute(
                "INSERT INTO kb (id, title, body, tags, category, updated_at, data, gen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                " title = excluded.title, body = excluded.body, tags = excluded.tags,"
                " category = excluded.category, updated_at = excluded.updated_at,"
                " data = excluded.data, gen = excluded.gen",
                (
                    entity_id,
                    str(data.get("title") or ""),
                    str(data.get("body") or ""),
                    " ".join(str(t) for t in tags),
                    str(data.get("category") or ""),
                    _norm_time(data.get("updated_at")),
                    _dumps(data),
                    gen,
                ),
            )
        elif entity == Entity.FORM_SET:
            if op == "delete":
                conn.execute("DELETE FROM meta WHERE key = 'forms'")
            else:
                _set_meta(conn, "forms", _dumps(data))
        elif entity == Entity.SEAT:
            if op == "delete":
                conn.execute("DELETE FROM seats WHERE agent = ?", (entity_id,))
            else:
                conn.execute(
                    "INSERT INTO seats (agent, data, gen) VALUES (?, ?, ?) ON CONFLICT(agent)"
                    " DO UPDATE SET data = excluded.data, gen = excluded.gen",
                    (entity_id, _dumps(data), gen),
                )

    def _sweep(self, conn: Any, gen: int) -> None:
        """End of a full refetch: drop what the server no longer has, keep my pending work."""
        conn.execute(
            "DELETE FROM tickets WHERE gen < ? AND pending = 0 AND attention = 0"
            " AND id NOT IN (SELECT ticket_id FROM outbox WHERE ticket_id IS NOT NULL)",
            (gen,),
        )
        conn.execute("DELETE FROM notes WHERE gen < ? AND pending = 0", (gen,))
        conn.execute("DELETE FROM kb WHERE gen < ?", (gen,))
        conn.execute("DELETE FROM seats WHERE gen < ?", (gen,))

    # ------------------------------------------------------------ retention

    def purge_closed(self, days: int | None = None) -> int:
        """Delete tickets closed more than ``days`` (default: ``retention_days``) ago that are
        fully synced (no pending or rejected change); their notes go with them. The server
        keeps them; the laptop forgets personal data it no longer needs."""
        keep = self.retention_days if days is None else days
        cutoff = utc_text(self.now() - timedelta(days=keep))
        with self._write() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM tickets WHERE is_open = 0 AND pending = 0 AND attention = 0"
                    " AND has_server = 1 AND coalesce(closed_at, updated_at, created_at)"
                    " < ? AND id NOT IN (SELECT ticket_id FROM outbox WHERE ticket_id IS NOT"
                    " NULL)",
                    (cutoff,),
                ).fetchall()
            ]
            conn.execute("DELETE FROM sent WHERE acked_at < ?", (cutoff,))
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                marks = ", ".join("?" * len(part))
                conn.execute(f"DELETE FROM notes WHERE ticket_id IN ({marks})", part)
                conn.execute(f"DELETE FROM tickets WHERE id IN ({marks})", part)
        return len(ids)


def _renew_client_id(conn: Any) -> str | None:
    """A new client id when nothing waits under the current one (see
    :meth:`CacheStore.renew_client_id`), inside the caller's transaction; None and no change
    when something waits."""
    waiting = conn.execute(
        "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM attention)"
    ).fetchone()[0]
    if waiting:
        return None
    new = str(uuid.uuid4())
    _set_meta(conn, "client_id", new)
    _set_meta(conn, "next_mutation_id", "1")
    _set_meta(conn, "last_acked", "0")
    conn.execute("DELETE FROM sent")
    _set_meta(conn, "gen", str(int(_meta(conn, "gen") or "0") + 1))
    _set_meta(conn, "cursor", "0")
    _set_meta(conn, "refetch", "1")
    return new


def _changed_columns(conn: Any, tid: str, cols: dict[str, Any]) -> dict[str, Any] | None:
    """The columns of a ticket's indexed row whose stored value differs from ``cols`` (value
    or type), or None when the ticket has no row yet. Writing only these matters: SQLite
    rewrites every index (18 on ``tickets``) holding a column an UPDATE names."""
    current = conn.execute(f"SELECT {', '.join(cols)} FROM tickets WHERE id = ?", (tid,)).fetchone()
    if current is None:
        return None
    return {n: v for (n, v), old in zip(cols.items(), current, strict=True)
            if v != old or type(v) is not type(old)}  # fmt: skip


def _keep_aside(
    conn: Any,
    mid: int,
    kind: str,
    name: str,
    args: str,
    ticket_id: str | None,
    result: MutationResult,
    now: str,
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO attention (mutation_id, kind, name, args, ticket_id, reason,"
        " field, conflict, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            mid,
            kind,
            name,
            args,
            ticket_id,
            result.reason or ("conflict" if kind == "conflict" else "rejected"),
            result.field,
            _dumps(result.conflict) if result.conflict else None,
            now,
        ),
    )
    if ticket_id is not None:
        conn.execute("UPDATE tickets SET attention = attention + 1 WHERE id = ?", (ticket_id,))


def _take_numbers(conn: Any, numbers: Mapping[str, str]) -> None:
    """The server's number is the truth: write it into each ticket's display document where
    it differs (the caller writes the ``number`` column with the pending count). Only the
    number changes, so only it is written: no other column is recomputed, and the number is
    outside the full-text index, so the row is not re-indexed (it was, at ~1.25 ms a
    ticket, before schema version 3)."""
    if not numbers:
        return
    conn.executemany(
        "UPDATE ticket_docs SET data = json_set(data, '$.number', ?) WHERE id = ?"
        " AND json_extract(data, '$.number') IS NOT ?",
        [(number, tid, number) for tid, number in numbers.items()],
    )


# ---------------------------------------------------------------- opening, recovery


def _on_read_only_fs(path: Path) -> bool:
    """Whether the cache's folder is read-only to us: a read-only mount, or a folder we may
    not write (WAL needs to create its -wal and -shm files beside the database)."""
    folder = path if path.is_dir() else path.parent
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    except OSError:
        return False


def _open_failure(exc: Exception, path: Path) -> str:
    """SaveFailed's reason for a cache that would not open (SQLite only says "unable to open
    database file" when the folder cannot be written)."""
    reason = _classify(exc)
    if reason == "other" and _on_read_only_fs(path):
        return "read_only"
    return reason


def open_cache(
    profile: str = DEFAULT_PROFILE,
    *,
    key_provider: KeyProvider | None = None,
    home: Locations | None = None,
    path: Path | None = None,
    clock: Clock | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> CacheStore:
    """Open the encrypted cache of ``profile``, creating it (and its key) on first use.

    The key comes from ``key_provider`` (default: the OS keyring; raises
    :class:`~offline_cache.errors.KeyringUnavailable` with the documented choices when there
    is none). A key is made only for a cache that does not exist yet: an existing file with
    no key in the keyring is :class:`~offline_cache.errors.CacheKeyMissing`, one its key does
    not open :class:`~offline_cache.errors.CacheKeyMismatch` -- the file untouched either way.
    A file damaged on disk (the right key, see keycheck.py) is never deleted: it is moved
    aside, a new cache is made, the unsynced mutations and drafts SQLite can still read are
    copied over, and ``store.recovery`` tells the UI what happened.
    """
    provider: KeyProvider = key_provider or KeyringKeyProvider()
    check_profile(profile)
    db_path = path or (home or locations()).ensure().cache_path(profile)
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:  # a read-only or missing disk: said, not a traceback
        reason = "read_only" if _on_read_only_fs(db_path.parent) else "io_error"
        raise SaveFailed(reason, str(exc)) from exc
    existed = db_path.exists() and db_path.stat().st_size > 0
    # An existing file only ever opens with its existing key: a keyring that reads as empty
    # for a moment (a crash mid-write left its file at 0 bytes) must not get a new key, which
    # could never read the file.
    key = provider.get_key(profile, create=not existed)
    if key is None:
        raise CacheKeyMissing(str(db_path), profile)
    if not existed:
        try:
            store = CacheStore(db_path, key, clock=clock, retention_days=retention_days)
        except sqlcipher3.DatabaseError as exc:
            raise SaveFailed(_open_failure(exc, db_path), str(exc)) from exc
        keycheck.remember(db_path, key)
        return store
    try:
        store = CacheStore(db_path, key, clock=clock, retention_days=retention_days)
    except sqlcipher3.DatabaseError as exc:
        if not _is_unreadable(exc):
            raise SaveFailed(_open_failure(exc, db_path), str(exc)) from exc
        if keycheck.is_wrong_key(db_path, key):  # not damage: the file stays untouched
            raise CacheKeyMismatch(str(db_path), profile) from exc
        store = recover(db_path, key, str(exc), clock, retention_days)
        keycheck.remember(db_path, key)
        return store
    keycheck.remember(db_path, key)
    with suppress(SaveFailed):  # retention at every start; a read-only disk must not block
        store.purge_closed()
    return store
