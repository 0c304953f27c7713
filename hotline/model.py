"""The ticket (工单) and the vocabulary around it.

Identifiers are English so they are stable on the wire and in the database; the
Chinese and English labels a person reads live in the UI's i18n tables.

The vocabulary is plain Python. The pydantic models (``TicketFields``, ``Ticket``, ``Note``)
live in ``hotline.ticket_models`` and are reached here on first use (``hotline.model.Ticket``
and ``from hotline.model import Ticket`` work as before): the desk's first frame needs the
vocabulary, the form rules and ``TICKET_MAX_LENGTHS``, not pydantic.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # built on first use (hotline.ticket_models): see __getattr__ below
    from hotline.ticket_models import Note as Note
    from hotline.ticket_models import SatisfactionScore as SatisfactionScore
    from hotline.ticket_models import Ticket as Ticket
    from hotline.ticket_models import TicketFields as TicketFields


class Kind(StrEnum):
    """类型: what the caller wants."""

    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报: reporting a violation (illegal building, pollution, fraud ...)
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬


class Satisfaction(StrEnum):
    """评价: the caller's verdict at the callback (回访), on the three-level scale of the
    government hotlines (满意 / 基本满意 / 不满意). 满意率 counts 满意 and 基本满意 as
    satisfied (hotline.metrics)."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


# Scores on the 1-5 scale that earlier desks sent (still in an outbox, or in old rows): read
# as the three levels, so an upgrade with a full outbox replays (SYNC.md).
LEGACY_SATISFACTION: dict[int, Satisfaction] = {
    5: Satisfaction.SATISFIED,
    4: Satisfaction.SATISFIED,
    3: Satisfaction.BASICALLY_SATISFIED,
    2: Satisfaction.DISSATISFIED,
    1: Satisfaction.DISSATISFIED,
}


def _legacy_satisfaction(value: Any) -> Any:
    if isinstance(value, bool):
        return value  # refused by the enum, with the field named
    if isinstance(value, int) and value in LEGACY_SATISFACTION:
        return LEGACY_SATISFACTION[value]
    if isinstance(value, str) and value.strip().isdigit():
        return LEGACY_SATISFACTION.get(int(value.strip()), value)
    return value


class Urgency(StrEnum):
    NORMAL = "normal"
    RED = "red"  # 紧急 (red ticket): first response within 30 minutes of the call


class UrgentSubcategory(StrEnum):
    """紧急求医 sub-categories, as counted by Shanghai's hotline in March 2022."""

    DIALYSIS = "dialysis"  # 血透
    CANCER_THERAPY = "cancer_therapy"  # 肿瘤放化疗
    MATERNITY = "maternity"  # 孕产妇
    RABIES_VACCINE = "rabies_vaccine"  # 狂犬疫苗
    FEVER = "fever"  # 发烧
    OTHER_MEDICAL = "other_medical"  # 其他


class Channel(StrEnum):
    PHONE = "phone"
    SIGN_LANGUAGE = "sign_language"
    WEB = "web"
    WECHAT = "wechat"
    LETTER = "letter"


class Privacy(StrEnum):
    """保密/匿名: who may see the caller's identity (name, phones, address)."""

    NORMAL = "normal"
    CONFIDENTIAL = "confidential"  # 保密: only the agent who owns the ticket (and leads)
    ANONYMOUS = "anonymous"  # 匿名: the caller gives no identity; no phone is needed


class ReplyMethod(StrEnum):
    """回复方式: how the citizen wants the outcome."""

    PHONE = "phone"  # 电话
    SMS = "sms"  # 短信
    WECHAT = "wechat"  # 微信
    LETTER = "letter"  # 书面


class Status(StrEnum):
    """The closed loop (国办发〔2020〕53号) plus merge (并单)."""

    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 派单
    HANDLING = "handling"  # 办理
    REPLIED = "replied"  # 答复
    SUPERVISED = "supervised"  # 督办
    CLOSED = "closed"  # 办结
    CALLBACK = "callback"  # 回访
    EVALUATED = "evaluated"  # 评价
    MERGED = "merged"  # 并单: folded into another ticket


class Disposition(StrEnum):
    """How intake ends: answered on the spot (当场解答, closes) or dispatched (派单)."""

    ON_SPOT = "on_spot"
    DISPATCH = "dispatch"
    PENDING = "pending"  # saved as accepted; the agent decides later


class EscalationLevel(IntEnum):
    """The escalation ladder for urgent tickets (DOMAIN.md)."""

    AGENT = 0  # first window: the agent who took the call
    AGGREGATION = 1  # 汇总, handed to the district's ticket group
    SPECIAL_SUPERVISION = 2  # 专人督办: units report by 17:00 the same day
    CITY_SUPERVISION = 3  # 提级 to the city supervision office by 12:00 next day


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


# Fields an agent fills in; the server and the client validate them with the same rules.
EDITABLE_FIELDS: tuple[str, ...] = (
    "caller_name",
    "phone",
    "id_card",
    "address",
    "district",
    "community",
    "kind",
    "category",
    "urgent_subcategory",
    "urgency",
    "account",
    "answer",
    "handling_unit",
    "promise",
    "channel",
    "street",
    "caller_number",
    "reply_needed",
    "reply_method",
    "respondent",
    "topic",
    "privacy",
    "extra",
)

# Fields that identify a person: encrypted at rest in the client cache.
PERSONAL_FIELDS: tuple[str, ...] = ("caller_name", "phone", "id_card", "address", "caller_number")

# What a confidential or anonymous ticket hides from everyone but its owner (and leads):
# the caller's name, both phone numbers, ID-card number and address.
CALLER_FIELDS: tuple[str, ...] = ("caller_name", "phone", "caller_number", "id_card", "address")


# The hard length limits of the ticket's text fields: ``TicketFields`` declares its limits
# from this table, and the form rules read it without building the model.
TICKET_MAX_LENGTHS: dict[str, int] = {
    "caller_name": 50,
    "phone": 20,
    "id_card": 18,
    "address": 200,
    "district": 20,
    "community": 50,
    "category": 40,
    "account": 4000,
    "answer": 4000,
    "handling_unit": 60,
    "promise": 500,
    "street": 40,  # 街道/镇
    "caller_number": 20,  # 来电号码 (caller ID)
    "respondent": 100,  # 被反映对象
    "topic": 40,  # 诉求分类 (hotline.topics)
}

_MODELS = frozenset({"TicketFields", "Ticket", "Note", "SatisfactionScore"})


def __getattr__(name: str) -> Any:
    """``TicketFields``, ``Ticket``, ``Note`` and ``SatisfactionScore``, built when first asked
    for (PEP 562): importing this module does not import pydantic."""
    if name in _MODELS:
        from hotline import ticket_models

        value = getattr(ticket_models, name)
        globals()[name] = value  # asked once: later lookups find it without this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
