"""诉求分类: the topic classification list every ticket can be filed under.

The category of a ticket says which form took it (general, urgent medical); the topic says
what the call was about, so the per-topic resolution rate (解决率) and the day's top topics
are real figures. Stored on the ticket (``TicketFields.topic``) by its stable English id.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    id: str
    zh: str
    en: str

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


TOPICS: tuple[Topic, ...] = (
    Topic("housing", "住房保障与物业", "Housing and property management"),
    Topic("urban_management", "城市管理与市容", "Urban management"),
    Topic("environment", "环境保护（噪音、污染）", "Environment (noise, pollution)"),
    Topic("water_drainage", "供水排水与积水", "Water supply, drainage and flooding"),
    Topic("utilities", "水电燃气", "Power and gas"),
    Topic("transport", "交通出行", "Transport"),
    Topic("health", "医疗卫生", "Health care"),
    Topic("epidemic", "疫情防控", "Epidemic control"),
    Topic("social_security", "社会保障与就业", "Social security and jobs"),
    Topic("residence", "户籍与居住证", "Household registration and residence permits"),
    Topic("education", "教育", "Education"),
    Topic("market", "市场监管与消费维权", "Market supervision and consumer rights"),
    Topic("public_safety", "公共安全", "Public safety"),
    Topic("civil_affairs", "民政与养老", "Civil affairs and elderly care"),
    Topic("government_service", "政务服务", "Government services"),
    Topic("other", "其他", "Other"),
)

_BY_ID = {t.id: t for t in TOPICS}


def find_topic(value: str) -> Topic | None:
    """The topic with this id or name (Chinese or English, case and spaces ignored)."""
    key = value.strip().casefold().replace(" ", "")
    if not key:
        return None
    if key in _BY_ID:
        return _BY_ID[key]
    for t in TOPICS:
        if key in (t.zh.casefold(), t.en.casefold().replace(" ", "")):
            return t
    return None


def topic_label(topic_id: str | None, lang: str = "zh") -> str:
    """A topic's name in ``lang``; an unknown id is shown as it is, none as ''."""
    if not topic_id:
        return ""
    found = _BY_ID.get(topic_id)
    return found.label(lang) if found else topic_id
