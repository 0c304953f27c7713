"""offline_cache: the desk's durable, encrypted local store and its replicator (SYNC.md).

The TUI uses only what is exported here. Blocking calls (every ``CacheStore`` method, keyring
access in ``open_cache`` and ``credentials``) belong in Textual ``thread=True`` workers; the
``Replicator`` is async; the desk runs it on a thread and event loop of its own
(``SyncThread``), so none of its network work runs between the agent's keystrokes.

Opening::

    from offline_cache import open_cache, KeyringUnavailable
    try:
        store = open_cache(profile)          # key from keyring, made on first use only
    except KeyringUnavailable as exc:        # headless machine: show exc.message(lang)
        ...
    except (CacheKeyMissing, CacheKeyMismatch) as exc:  # the file exists, its key is not
        ...                                  # there: file untouched, show exc.message(lang)
    if store.recovery:                       # unreadable file was moved aside, not deleted
        show(store.recovery.message_zh)

    # the demo chooses a throw-away key on purpose:
    store = open_cache("demo", key_provider=EphemeralKeyProvider(), path=tmp / "demo.db")

Saving (returns only after COMMIT; raises SaveFailed / InvalidChange, nothing half-written)::

    draft = store.save_draft("intake", values)                # autosave, debounced
    saved = store.create_ticket(fields, call_started_at=t0,   # ticket + outbox row, one txn
                                ticket_id=draft.ticket_id, draft_id=draft.id)
    store.add_note(saved.ticket_id, "...");  store.update_ticket(tid, {"address": "..."})
    store.change_status(tid, Status.CLOSED); store.escalate(tid, "reason")

Reading::

    store.queue_page(QueueQuery(view=QueueView.MINE, sort=QueueSort.URGENCY, text="张"))
    #   -> Page(rows, total, offset, limit, total_capped): a text search counts to 1000 ("1000+")
    store.counts(QueueQuery(view=QueueView.TEAM)); store.search("13800138000")
    store.open_tickets_for_phone(number); store.get_ticket(tid); store.notes(tid)
    store.kb_search("停水"); store.kb_article(id); store.forms(); store.seats()
    store.outbox_stats(); store.needs_attention(); store.dismiss_attention(mutation_id)

Syncing::

    rep = Replicator(store, server_url, token=lambda: load_token(profile, server_url),
                     on_state=callback, on_event=callback)   # on_event: call_offer, panel
    task = asyncio.create_task(rep.run()); rep.poke() after a save; await rep.stop()
    # the desk: its own thread and loop; poke/saved_locally/set_token from any thread,
    # on_state/on_event called on that thread (hand them to the UI loop)
    sync = SyncThread(rep, on_exit=callback); sync.start(); ...; sync.stop()  # bounded
    outcome = await rep.sync_once()   # agent-tui sync --once (SyncOutcome: done / rejected /
                                      # offline / needs_sign_in); rep.set_token(t) after re-login
    # run() also posts a seat heartbeat with the outbox size (leads see desks holding work)

Thread-safety: a store holds one connection behind a lock; any thread may call it.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Imported when first asked for (PEP 562): the desk's first screen needs the locations and
# the credentials, not the store's SQLCipher nor the replicator's HTTP client, so ``import
# offline_cache.locations`` no longer pulls the whole package in. ``locations`` is bound here
# at once: it is also a submodule's name, and a later ``import offline_cache.locations``
# must find the function, not the module, under ``offline_cache.locations``.
from offline_cache.locations import DEFAULT_PROFILE, Locations, locations

if TYPE_CHECKING:
    from offline_cache.credentials import delete_token, load_token, save_token
    from offline_cache.errors import (
        CacheClosed,
        CacheError,
        CacheKeyMismatch,
        CacheKeyMissing,
        InvalidChange,
        KeyringPasswordWrong,
        KeyringUnavailable,
        SaveFailed,
        UnknownTicket,
    )
    from offline_cache.keyring_unlock import is_new_keyring, locked_keyring, unlock_keyring
    from offline_cache.keys import (
        EphemeralKeyProvider,
        KeyProvider,
        KeyringKeyProvider,
        usable_keyring,
    )
    from offline_cache.records import (
        Attention,
        Counts,
        Draft,
        KbHit,
        LocalTicket,
        NoteRow,
        OutboxItem,
        OutboxStats,
        Page,
        QueueQuery,
        QueueSort,
        QueueView,
        Recovery,
        Saved,
        SyncMeta,
        TicketRow,
    )
    from offline_cache.replicator import (
        LinkState,
        NeedsSignIn,
        Replicator,
        ServerProblem,
        SyncOutcome,
        SyncSnapshot,
    )
    from offline_cache.store import CacheStore, open_cache
    from offline_cache.sync_thread import SyncThread

_WHERE: dict[str, str] = {
    "delete_token": "offline_cache.credentials",
    "load_token": "offline_cache.credentials",
    "save_token": "offline_cache.credentials",
    "CacheClosed": "offline_cache.errors",
    "CacheError": "offline_cache.errors",
    "CacheKeyMismatch": "offline_cache.errors",
    "CacheKeyMissing": "offline_cache.errors",
    "InvalidChange": "offline_cache.errors",
    "KeyringPasswordWrong": "offline_cache.errors",
    "KeyringUnavailable": "offline_cache.errors",
    "SaveFailed": "offline_cache.errors",
    "UnknownTicket": "offline_cache.errors",
    "is_new_keyring": "offline_cache.keyring_unlock",
    "locked_keyring": "offline_cache.keyring_unlock",
    "unlock_keyring": "offline_cache.keyring_unlock",
    "EphemeralKeyProvider": "offline_cache.keys",
    "KeyProvider": "offline_cache.keys",
    "KeyringKeyProvider": "offline_cache.keys",
    "usable_keyring": "offline_cache.keys",
    "Attention": "offline_cache.records",
    "Counts": "offline_cache.records",
    "Draft": "offline_cache.records",
    "KbHit": "offline_cache.records",
    "LocalTicket": "offline_cache.records",
    "NoteRow": "offline_cache.records",
    "OutboxItem": "offline_cache.records",
    "OutboxStats": "offline_cache.records",
    "Page": "offline_cache.records",
    "QueueQuery": "offline_cache.records",
    "QueueSort": "offline_cache.records",
    "QueueView": "offline_cache.records",
    "Recovery": "offline_cache.records",
    "Saved": "offline_cache.records",
    "SyncMeta": "offline_cache.records",
    "TicketRow": "offline_cache.records",
    "LinkState": "offline_cache.replicator",
    "NeedsSignIn": "offline_cache.replicator",
    "Replicator": "offline_cache.replicator",
    "ServerProblem": "offline_cache.replicator",
    "SyncOutcome": "offline_cache.replicator",
    "SyncSnapshot": "offline_cache.replicator",
    "CacheStore": "offline_cache.store",
    "open_cache": "offline_cache.store",
    "SyncThread": "offline_cache.sync_thread",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'offline_cache' has no attribute {name!r}")
    value = getattr(import_module(where), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_PROFILE",
    "Attention",
    "CacheClosed",
    "CacheError",
    "CacheKeyMismatch",
    "CacheKeyMissing",
    "CacheStore",
    "Counts",
    "Draft",
    "EphemeralKeyProvider",
    "InvalidChange",
    "KbHit",
    "KeyProvider",
    "KeyringKeyProvider",
    "KeyringPasswordWrong",
    "KeyringUnavailable",
    "LinkState",
    "LocalTicket",
    "Locations",
    "NeedsSignIn",
    "NoteRow",
    "OutboxItem",
    "OutboxStats",
    "Page",
    "QueueQuery",
    "QueueSort",
    "QueueView",
    "Recovery",
    "Replicator",
    "SaveFailed",
    "Saved",
    "ServerProblem",
    "SyncMeta",
    "SyncOutcome",
    "SyncSnapshot",
    "SyncThread",
    "TicketRow",
    "UnknownTicket",
    "delete_token",
    "is_new_keyring",
    "load_token",
    "locations",
    "locked_keyring",
    "open_cache",
    "save_token",
    "unlock_keyring",
    "usable_keyring",
]
