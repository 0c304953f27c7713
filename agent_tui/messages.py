"""Messages that flow up from workers and screens to the app (Textual: messages up)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class StatusChanged(Message):
    """The replicator, the outbox or the seat changed: the status bar redraws."""


class CallOffered(Message):
    """The server offered a call to this seat (event stream): open intake for the number."""

    def __init__(
        self, caller_number: str, call_id: str = "", recent_tickets: list[Any] | None = None
    ) -> None:
        self.caller_number = caller_number
        self.call_id = call_id
        self.recent_tickets = recent_tickets or []
        super().__init__()


class CacheChanged(Message):
    """A pull or a local save changed tickets: queues and open tickets reload."""


class TicketSaved(Message):
    """A ticket was committed to the cache (before any network)."""

    def __init__(self, ticket_id: str, display_number: str, details: dict[str, Any]) -> None:
        self.ticket_id = ticket_id
        self.display_number = display_number
        self.details = details
        super().__init__()


class SignedIn(Message):
    def __init__(self, username: str, role: str) -> None:
        self.username = username
        self.role = role
        super().__init__()


class SyncStateChanged(Message):
    """The replicator (on its own thread) has a new state. ``session`` says which
    replicator: the app ignores one stopped at sign-out that is still finishing its round."""

    def __init__(self, session: int, snapshot: Any) -> None:
        self.session = session
        self.snapshot = snapshot
        super().__init__()


class SyncEvent(Message):
    """An event from the server's stream that is not a sync poke (``call_offer``, ...)."""

    def __init__(self, session: int, kind: str, data: dict[str, Any]) -> None:
        self.session = session
        self.kind = kind
        self.data = data
        super().__init__()


class SyncEnded(Message):
    """The replicator's thread ended: ``error`` is None after a stop, else what failed."""

    def __init__(self, session: int, error: BaseException | None) -> None:
        self.session = session
        self.error = error
        super().__init__()
