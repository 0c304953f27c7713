"""Request and response bodies of the live endpoints (telephony, seats, KB, forms, metrics).

Pydantic v2 models so the OpenAPI document describes them. They are plain data: a client
can read the same JSON without importing the server.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hotline.protocol import SeatState
from hotline.times import ClientTime, SafeDatetime


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- telephony


class CallEventType(StrEnum):
    OFFERED = "offered"  # entered the queue
    OFFERED_TO_SEAT = "offered_to_seat"  # ringing at an agent's seat
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # caller hung up while queued
    ENDED = "ended"
    AFTER_CALL_ENDED = "after_call_ended"


class CallEvent(_Strict):
    """One event from the phone system (ACD/CTI). ``event_id`` makes it idempotent."""

    event_id: str = Field(min_length=1, max_length=100)
    type: CallEventType
    call_id: str = Field(min_length=1, max_length=64)
    at: ClientTime
    caller_number: str | None = Field(default=None, max_length=20)
    queue: str | None = Field(default=None, min_length=1, max_length=40)
    agent: str | None = Field(default=None, min_length=1, max_length=64)
    hold_seconds: float | None = Field(default=None, ge=0, le=86_400)


class CallEventBatch(_Strict):
    events: list[CallEvent] = Field(min_length=1, max_length=1000)


class EventOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class CallEventResult(BaseModel):
    event_id: str
    outcome: EventOutcome
    reason: str | None = None


class CallEventBatchResult(BaseModel):
    results: list[CallEventResult]


class CallOut(BaseModel):
    call_id: str
    queue: str
    caller_number: str
    status: Literal["queued", "ringing", "answered", "ended", "abandoned", "expired"]
    agent: str | None
    offered_at: AwareDatetime | None
    answered_at: AwareDatetime | None
    abandoned_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    after_call_ended_at: AwareDatetime | None
    source: str


# ---------------------------------------------------------------- seats


class SeatUpdate(_Strict):
    """``PUT /api/v1/seats/me``: the agent's own state; also a heartbeat with the outbox size."""

    state: SeatState
    reason: str | None = Field(default=None, max_length=100)
    unsynced: int | None = Field(
        default=None, ge=0, le=100_000_000, description="mutations in the outbox"
    )
    client_id: str | None = Field(default=None, max_length=36, pattern=r"^[0-9a-fA-F-]{1,36}$")


class SeatOut(BaseModel):
    agent: str
    display_name: str | None = None
    team: str | None = None
    state: SeatState
    reason: str | None
    since: AwareDatetime | None
    last_seen: AwareDatetime | None
    offline_since: AwareDatetime | None
    call_id: str | None
    call_started_at: AwareDatetime | None
    current_call_seconds: float | None
    tickets_today: int
    unsynced: int | None


class SeatsOut(BaseModel):
    seats: list[SeatOut]
    counts: dict[str, int]
    link_down_after_seconds: float


# ---------------------------------------------------------------- knowledge base


class KbArticleIn(_Strict):
    """答复口径: an answer script. ``id`` and ``base_revision`` update an existing one."""

    id: str | None = Field(default=None, min_length=1, max_length=36)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    category: str = Field(default="other", min_length=1, max_length=40)
    valid_from: SafeDatetime | None = None
    valid_to: SafeDatetime | None = None
    base_revision: int | None = Field(default=None, ge=0)


class KbArticleOut(BaseModel):
    id: str
    title: str
    body: str
    tags: list[str]
    category: str
    valid_from: AwareDatetime | None
    valid_to: AwareDatetime | None
    author: str
    revision: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class KbListOut(BaseModel):
    articles: list[KbArticleOut]
    total: int


# ---------------------------------------------------------------- forms


class FormsOut(BaseModel):
    version: str
    source: Literal["shipped", "admin"]
    forms: dict[str, Any]
    updated_at: AwareDatetime | None = None
    updated_by: str | None = None


class FormsIn(_Strict):
    forms: dict[str, Any] = Field(min_length=1)


# ---------------------------------------------------------------- callbacks (漏接回拨)


class CallbackAttemptOut(BaseModel):
    call_id: str
    agent: str
    outcome: str
    note: str | None
    at: AwareDatetime


class CallbackOut(BaseModel):
    """One entry of the callback list: who called, when, how long they waited."""

    id: str
    caller_number: str
    status: Literal["open", "claimed", "done"]
    reason: Literal["abandoned", "expired"]
    queue: str | None
    first_call_id: str
    last_call_id: str
    missed_calls: int
    first_missed_at: AwareDatetime
    last_missed_at: AwareDatetime
    last_wait_seconds: float
    longest_wait_seconds: float
    attempts: int
    claimed_by: str | None
    claimed_at: AwareDatetime | None
    outcome: str | None
    done_at: AwareDatetime | None
    done_by: str | None
    history: list[CallbackAttemptOut] | None = None


class CallbackListOut(BaseModel):
    callbacks: list[CallbackOut]
    open: int


class CallbackOutcomeIn(_Strict):
    """``POST /api/v1/callbacks/{id}/outcome``: how the callback went."""

    outcome: str = Field(min_length=1, max_length=20, description="reached | no_answer | busy | "
                         "wrong_number")  # fmt: skip
    note: str | None = Field(default=None, max_length=500)


class CallbackState(StrEnum):
    OPEN = "open"
    DONE = "done"
    ALL = "all"


# ---------------------------------------------------------------- metrics


class Window(StrEnum):
    TODAY = "today"
    LAST_60M = "60m"
    LAST_15M = "15m"
