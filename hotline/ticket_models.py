"""The ticket's pydantic models: what intake records (``TicketFields``), the ticket as the
server holds it (``Ticket``) and its notes (``Note``).

Reached as ``hotline.model.TicketFields`` etc. (built on first use); the vocabulary they use
(the enums, ``TICKET_MAX_LENGTHS``) is ``hotline.model``'s, importable without pydantic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from hotline.model import (
    TICKET_MAX_LENGTHS as _LIMIT,
)
from hotline.model import (
    Channel,
    Disposition,
    EscalationLevel,
    Kind,
    Privacy,
    ReplyMethod,
    Satisfaction,
    Status,
    Urgency,
    UrgentSubcategory,
    _legacy_satisfaction,
)

SatisfactionScore = Annotated[Satisfaction, BeforeValidator(_legacy_satisfaction)]


class TicketFields(BaseModel):
    """What intake records about one call. Its length limits are the hard limits
    (``hotline.model.TICKET_MAX_LENGTHS``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    caller_name: str = Field(default="", max_length=_LIMIT["caller_name"])
    phone: str = Field(default="", max_length=_LIMIT["phone"])
    id_card: str | None = Field(default=None, max_length=_LIMIT["id_card"])
    address: str = Field(default="", max_length=_LIMIT["address"])
    district: str = Field(default="", max_length=_LIMIT["district"])
    community: str | None = Field(default=None, max_length=_LIMIT["community"])
    kind: Kind = Kind.CONSULTATION
    category: str = Field(default="other", max_length=_LIMIT["category"])
    urgent_subcategory: UrgentSubcategory | None = None
    urgency: Urgency = Urgency.NORMAL
    account: str = Field(default="", max_length=_LIMIT["account"])
    answer: str | None = Field(default=None, max_length=_LIMIT["answer"])
    handling_unit: str | None = Field(default=None, max_length=_LIMIT["handling_unit"])
    promise: str | None = Field(default=None, max_length=_LIMIT["promise"])
    channel: Channel = Channel.PHONE
    street: str | None = Field(default=None, max_length=_LIMIT["street"])  # 街道/镇
    caller_number: str | None = Field(
        default=None, max_length=_LIMIT["caller_number"]
    )  # 来电号码 (caller ID)
    reply_needed: bool | None = None  # 是否需要回复
    reply_method: ReplyMethod | None = None  # 回复方式
    respondent: str | None = Field(default=None, max_length=_LIMIT["respondent"])  # 被反映对象
    topic: str | None = Field(default=None, max_length=_LIMIT["topic"])  # 诉求分类 (hotline.topics)
    privacy: Privacy = Privacy.NORMAL  # 保密/匿名
    extra: dict[str, Any] = Field(default_factory=dict)


class Ticket(TicketFields):
    """A ticket as the server holds it and as it flows to clients on pull."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    id: str
    number: str | None = None  # human number assigned by the server, e.g. 20261122-000123
    revision: int = 0
    status: Status = Status.ACCEPTED
    disposition: Disposition = Disposition.PENDING
    escalation_level: EscalationLevel = EscalationLevel.AGENT
    call_started_at: AwareDatetime
    created_at: AwareDatetime  # as the agent saw it (client clock)
    created_by: str = ""
    team: str | None = None
    assignee: str | None = None
    merged_into: str | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    overdue: bool = False
    satisfaction: SatisfactionScore | None = None
    updated_at: datetime | None = None  # server time of the last change


class Note(BaseModel):
    """Notes are append-only: two agents adding notes never conflict."""

    id: str
    ticket_id: str
    body: str = Field(min_length=1, max_length=4000)
    author: str = ""
    created_at: AwareDatetime
