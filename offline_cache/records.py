"""Plain records the cache returns to the UI: frozen dataclasses, no database handles.

The UI renders these and passes ids back; it never sees SQL or a connection, so a query can
change without touching a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


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
class QueueQuery:
    """One page of the queue. ``user``/``team`` default to the signed-in identity."""

    view: QueueView = QueueView.ALL
    sort: QueueSort = QueueSort.TIME
    statuses: tuple[str, ...] = ()  # empty: any
    urgencies: tuple[str, ...] = ()  # empty: any
    text: str = ""  # number, phone, name, ID-card number, address, account text
    limit: int = 50
    offset: int = 0
    user: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class TicketRow:
    """One ticket as the queue and search show it (display state: local edits on top)."""

    id: str
    number: str | None  # None until the server assigned one
    display_number: str  # number, else the provisional number made from the id
    status: str
    urgency: str
    kind: str
    category: str
    caller_name: str
    phone: str
    address: str
    district: str
    created_at: datetime
    call_started_at: datetime
    deadline_at: datetime | None
    overdue: bool
    assignee: str | None
    team: str | None
    revision: int
    pending: int  # unsynced local changes of this ticket
    attention: int  # rejected changes / lost conflicts waiting for the agent


@dataclass(frozen=True)
class Page:
    rows: list[TicketRow]
    total: int  # rows matching the query (for "1-50 of 1234")
    offset: int
    limit: int
    total_capped: bool = False  # a text search stopped counting at ``total``: show "1000+"


@dataclass(frozen=True)
class Counts:
    """Counters for the queue header: per status and per urgency (same filters, no paging)."""

    by_status: dict[str, int]
    by_urgency: dict[str, int]
    total: int


@dataclass(frozen=True)
class LocalTicket:
    """A ticket in full. ``data`` follows hotline.model.Ticket (JSON-shaped values)."""

    id: str
    display_number: str
    data: dict[str, Any]
    server_data: dict[str, Any] | None  # last state pulled from the server; None if never
    pending: int
    attention: int


@dataclass(frozen=True)
class NoteRow:
    id: str
    ticket_id: str
    body: str
    author: str
    created_at: datetime
    pending: bool  # True until the server acknowledged it


@dataclass(frozen=True)
class Saved:
    """What a save returns, only after COMMIT: the mutation now waiting in the outbox."""

    mutation_id: int
    ticket_id: str | None
    entity_id: str  # the ticket id, or the note id for add_note
    display_number: str | None


@dataclass(frozen=True)
class Draft:
    id: str
    form_id: str
    values: dict[str, Any]
    ticket_id: str | None  # the UUIDv7 the ticket will get (made when the draft opened)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OutboxItem:
    mutation_id: int
    name: str
    args: dict[str, Any]
    client_time: datetime
    schema_version: int
    ticket_id: str | None


@dataclass(frozen=True)
class Attention:
    """A change the server refused (``kind="rejected"``) or whose field lost a conflict
    (``kind="conflict"``: ``conflict`` is ``{field: {"mine": .., "theirs": ..}}``)."""

    mutation_id: int
    kind: str
    name: str
    args: dict[str, Any]
    ticket_id: str | None
    reason: str
    field: str | None
    conflict: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True)
class OutboxStats:
    size: int
    oldest_client_time: datetime | None
    needs_attention: int  # rejected changes + lost/won same-field conflicts
    rejected: int = 0  # of which the server refused outright


@dataclass(frozen=True)
class KbHit:
    id: str
    title: str
    snippet: str
    category: str
    tags: list[str]
    updated_at: datetime | None


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
