"""The wire protocol's names and version, without its models (``hotline.protocol``).

What a client's cache needs to open and read itself -- the mutation names in its outbox, the
entities of its change log, the outcomes of a push, the args' schema version -- without
building the protocol's pydantic models, which only a save, a push or a pull validates
(~10 ms of CPU at import, on the way to the desk's first screen). ``hotline.protocol``
re-exports each of these: they are one and the same class wherever imported from.
"""

from __future__ import annotations

from enum import StrEnum

SCHEMA_VERSION = 1  # of mutation args; bumped with a replay rule when args change shape


class MutationName(StrEnum):
    CREATE_TICKET = "create_ticket"
    UPDATE_TICKET = "update_ticket"
    CHANGE_STATUS = "change_status"
    ADD_NOTE = "add_note"
    ESCALATE = "escalate"
    MERGE_TICKET = "merge_ticket"
    RECORD_CALLBACK = "record_callback"
    SET_SEAT_STATE = "set_seat_state"
    REPORT_CALL = "report_call"


class MutationOutcome(StrEnum):
    APPLIED = "applied"
    REJECTED = "rejected"  # kept aside by the client, shown as "needs attention"
    DUPLICATE = "duplicate"  # at or below last_mutation_id: already handled earlier


class Entity(StrEnum):
    TICKET = "ticket"
    NOTE = "note"
    KB_ARTICLE = "kb_article"
    FORM_SET = "form_set"
    SEAT = "seat"
