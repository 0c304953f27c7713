"""Plain records the cache returns to the UI: frozen dataclasses, no database handles.

The UI renders these and passes ids back; it never sees SQL or a connection, so a query can
change without touching a screen.

Those a desk's start makes (the draft, the outbox figures, the sync times, a recovery) are
defined here; the queue's, a ticket's, a save's and the knowledge base's live in
``offline_cache.later_records`` and are made when first asked for (PEP 562: ``from
offline_cache.records import Saved`` and ``records.Saved`` work as before). Each frozen
dataclass costs ~0.8 ms of CPU to make (compiling its six generated methods): ~8 ms for
those ten, on the UI thread before the form was interactive. The desk's warm-up makes them
once the form is drawn (``agent_tui.app``), before the agent's first save or queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # made on first use (offline_cache.later_records): see __getattr__ below
    from offline_cache.later_records import Attention as Attention
    from offline_cache.later_records import Counts as Counts
    from offline_cache.later_records import KbHit as KbHit
    from offline_cache.later_records import LocalTicket as LocalTicket
    from offline_cache.later_records import NoteRow as NoteRow
    from offline_cache.later_records import OutboxItem as OutboxItem
    from offline_cache.later_records import Page as Page
    from offline_cache.later_records import QueueQuery as QueueQuery
    from offline_cache.later_records import Saved as Saved
    from offline_cache.later_records import TicketRow as TicketRow

_LATER = frozenset(
    {
        "QueueQuery",
        "TicketRow",
        "Page",
        "Counts",
        "LocalTicket",
        "NoteRow",
        "Saved",
        "OutboxItem",
        "Attention",
        "KbHit",
    }
)


class QueueView(StrEnum):
    """The queue's tabs."""

    MINE = "mine"  # assigned to me, or created by me while assigned to no one
    TEAM = "team"  # my team's tickets
    RED = "red"  # urgency red and not closed/merged
    OVERDUE = "overdue"  # past a deadline (server flag, or the local red-ticket clock)
    NEEDS_ATTENTION = "needs_attention"  # a change of mine was rejected or lost a conflict
    ALL = "all"


class QueueSort(StrEnum):
    TIME = "time"  # newest call first
    URGENCY = "urgency"  # red first, then oldest call first
    DEADLINE = "deadline"  # nearest deadline first, tickets without one last


@dataclass(frozen=True)
class Draft:
    id: str
    form_id: str
    values: dict[str, Any]
    ticket_id: str | None  # the UUIDv7 the ticket will get (made when the draft opened)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OutboxStats:
    size: int
    oldest_client_time: datetime | None
    needs_attention: int  # rejected changes + lost/won same-field conflicts
    rejected: int = 0  # of which the server refused outright


@dataclass(frozen=True)
class Recovery:
    """The cache file could not be opened and was moved aside (never deleted)."""

    moved_to: list[str]
    recovered_mutations: int
    reason: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class SyncMeta:
    client_id: str
    cursor: int
    epoch: str | None
    last_acked_mutation_id: int
    next_mutation_id: int
    last_pull_at: datetime | None
    last_push_at: datetime | None
    user: str | None
    team: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def __getattr__(name: str) -> Any:
    """The records a desk's start does not make (``_LATER``), made when first asked for."""
    if name in _LATER:
        from offline_cache import later_records

        value = getattr(later_records, name)
        globals()[name] = value  # asked once: later lookups find it without this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
