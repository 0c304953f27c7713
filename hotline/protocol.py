"""The wire protocol between client and server (SYNC.md), defined once for both sides.

A client records every change as a *mutation* with a per-client sequential id; the
server applies each mutation exactly once and appends the effect to a change log that
clients pull after a cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hotline.model import Disposition, Role, SatisfactionScore, Status, TicketFields
from hotline.times import ClientTime
from hotline.wire_names import SCHEMA_VERSION as SCHEMA_VERSION
from hotline.wire_names import Entity as Entity
from hotline.wire_names import MutationName as MutationName
from hotline.wire_names import MutationOutcome as MutationOutcome

MAX_PUSH_BATCH = 500
DEFAULT_PUSH_BATCH = 100
MAX_PULL_LIMIT = 1000
# A desk cuts its push batches so each request body stays under this many bytes; a server's
# body limit (HOTLINE_MAX_BODY_BYTES) must not be set below it.
MAX_PUSH_BODY_BYTES = 512 * 1024

UUIDStr = Annotated[str, Field(min_length=32, max_length=36, pattern=r"^[0-9a-fA-F-]{32,36}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- mutations
# (MutationName, MutationOutcome, Entity and SCHEMA_VERSION: hotline.wire_names)


class CreateTicketArgs(TicketFields):
    """A new ticket. ``id`` is a UUIDv7 made by the client when the draft opened."""

    id: UUIDStr
    call_started_at: ClientTime
    created_at: ClientTime
    disposition: Disposition = Disposition.PENDING


class UpdateTicketArgs(_Strict):
    """Only the fields that change, with the revision the agent saw (SYNC.md conflicts)."""

    ticket_id: UUIDStr
    base_revision: int = Field(ge=0)
    changes: dict[str, Any] = Field(min_length=1)


class ChangeStatusArgs(_Strict):
    ticket_id: UUIDStr
    to: Status
    base_revision: int = Field(ge=0)
    reason: str | None = Field(default=None, max_length=500)


class AddNoteArgs(_Strict):
    ticket_id: UUIDStr
    note_id: UUIDStr
    body: str = Field(min_length=1, max_length=4000)
    created_at: ClientTime


class EscalateArgs(_Strict):
    ticket_id: UUIDStr
    reason: str = Field(min_length=1, max_length=500)


class MergeTicketArgs(_Strict):
    """并单: fold ``ticket_id`` (a repeated request) into ``into_ticket_id``."""

    ticket_id: UUIDStr
    into_ticket_id: UUIDStr


class RecordCallbackArgs(_Strict):
    """回访 and 评价: ``satisfaction`` given (the caller was reached and judged) moves the
    ticket to evaluated; reached without it leaves it at callback."""

    ticket_id: UUIDStr
    reached: bool = True
    satisfaction: SatisfactionScore | None = None
    note: str | None = Field(default=None, max_length=1000)


class SeatState(StrEnum):
    SIGNED_OUT = "signed_out"
    READY = "ready"
    ON_CALL = "on_call"
    AFTER_CALL = "after_call"
    BREAK = "break"
    LINK_DOWN = "link_down"  # set by the server only


class SetSeatStateArgs(_Strict):
    state: SeatState
    reason: str | None = Field(default=None, max_length=100)
    at: ClientTime


class ReportCallArgs(_Strict):
    """A call reported by the agent's own desk when no phone system is connected."""

    event: Literal["answered", "ended"]
    call_id: str = Field(min_length=1, max_length=64)
    caller_number: str = Field(default="", max_length=20)
    at: ClientTime


MUTATION_ARGS: dict[MutationName, type[BaseModel]] = {
    MutationName.CREATE_TICKET: CreateTicketArgs,
    MutationName.UPDATE_TICKET: UpdateTicketArgs,
    MutationName.CHANGE_STATUS: ChangeStatusArgs,
    MutationName.ADD_NOTE: AddNoteArgs,
    MutationName.ESCALATE: EscalateArgs,
    MutationName.MERGE_TICKET: MergeTicketArgs,
    MutationName.RECORD_CALLBACK: RecordCallbackArgs,
    MutationName.SET_SEAT_STATE: SetSeatStateArgs,
    MutationName.REPORT_CALL: ReportCallArgs,
}


MutationId = Annotated[int, Field(ge=1, le=2**62)]


class MutationEnvelope(BaseModel):
    """One mutation as the server reads it from a push: only ``mutation_id`` must be sound.

    Everything else is checked per mutation (``Mutation``, then the args model), so one
    malformed mutation (an unknown ``name``, a ``client_time`` without a zone, a field this
    server does not know) is *rejected* with the field named and still advances
    ``last_mutation_id``, instead of making the whole batch unreadable (SYNC.md "Push": one
    poison mutation never blocks the rest).
    """

    model_config = ConfigDict(extra="allow")

    mutation_id: MutationId
    name: Any = Field(default=None, description="a MutationName (checked per mutation)")
    args: Any = Field(default=None, description="an object: the args model of the name")
    client_time: Any = Field(default=None, description="an ISO 8601 time with its zone")
    schema_version: Any = Field(default=SCHEMA_VERSION, description="of args, at least 1")


class Mutation(MutationEnvelope):
    """A well-formed mutation: what a client sends, and what the server applies."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: MutationName
    args: dict[str, Any]
    client_time: ClientTime
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)


# ---------------------------------------------------------------- push


class PushRequest(_Strict):
    client_id: UUIDStr
    # Sequence: a client passes its list[Mutation]; the server reads envelopes.
    mutations: Sequence[MutationEnvelope] = Field(max_length=MAX_PUSH_BATCH)


def fit_push_batch(client_id: str, mutations: Sequence[Mutation]) -> list[Mutation]:
    """The longest head of ``mutations`` whose push body (as JSON in UTF-8, the way a client
    sends it) stays within MAX_PUSH_BODY_BYTES; never empty when ``mutations`` is not (one
    mutation alone is far smaller: its fields and ``extra`` are bounded)."""
    import json

    def size(value: Any) -> int:
        return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())

    total = size({"client_id": client_id, "mutations": []})
    kept: list[Mutation] = []
    for m in mutations:
        total += size(m.model_dump(mode="json")) + (1 if kept else 0)
        if kept and total > MAX_PUSH_BODY_BYTES:
            break
        kept.append(m)
    return kept


class MutationResult(BaseModel):
    mutation_id: int
    outcome: MutationOutcome
    reason: str | None = None  # human-readable, for rejected
    field: str | None = None  # the field at fault, where one is
    ticket_id: str | None = None
    ticket_number: str | None = None
    revision: int | None = None
    conflict: dict[str, Any] | None = None  # same-field conflict: {field: {mine, theirs}}


class PushResponse(BaseModel):
    last_mutation_id: int
    results: list[MutationResult]


# ---------------------------------------------------------------- pull


class Change(BaseModel):
    seq: int
    entity: Entity
    entity_id: str
    op: Literal["upsert", "delete"] = "upsert"
    data: dict[str, Any]
    server_time: AwareDatetime


class PullResponse(BaseModel):
    changes: list[Change]
    cursor: int  # pass back as ?cursor= for the next page
    has_more: bool
    last_mutation_id: int  # this client's; lets the client clear acknowledged outbox rows
    epoch: str  # changes when the server is restored from backup: refetch everything


# ---------------------------------------------------------------- auth


# The longest password sign-in accepts; `hotline-server user add` refuses longer ones.
PASSWORD_MAX_LENGTH = 256


class LoginRequest(_Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class UserOut(BaseModel):
    username: str
    role: Role
    team: str | None = None
    display_name: str | None = None


class LoginResponse(BaseModel):
    access_token: str
    expires_at: AwareDatetime
    user: UserOut


# ---------------------------------------------------------------- errors


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx answer: a message a person can read, and the fields at fault."""

    error: str
    message: str
    fields: list[FieldProblem] = Field(default_factory=list)
