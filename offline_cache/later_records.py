"""The cache's records a desk's start does not make: the queue's, a ticket's, a save's, the
outbox's rows, the attention list's and the knowledge base's. Reached as
``offline_cache.records.X`` (see that module); defined here so that importing the cache does
not make them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from offline_cache.records import QueueSort, QueueView


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
class KbHit:
    id: str
    title: str
    snippet: str
    category: str
    tags: list[str]
    updated_at: datetime | None
