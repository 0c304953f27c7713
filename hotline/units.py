"""承办单位: the directory of handling units a ticket can be dispatched to.

The server serves the directory (``GET /api/v1/directory/units``); the desk keeps the last
copy in its cache so the picker works offline, and falls back to this shipped list before
its first sync. A unit is stored on the ticket (``handling_unit``) by its Chinese name, the
name the unit itself answers to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unit:
    id: str
    zh: str
    en: str
    district: str = ""  # a district id (hotline.districts) for district units, else ''

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "zh": self.zh, "en": self.en, "district": self.district}


SHIPPED_UNITS: tuple[Unit, ...] = (
    Unit("city_health", "市卫生健康委", "Municipal Health Commission"),
    Unit("city_housing", "市住房城乡建设管理委", "Municipal Housing and Construction Commission"),
    Unit("city_transport", "市交通委", "Municipal Transport Commission"),
    Unit("city_water", "市水务局", "Municipal Water Authority"),
    Unit("city_ecology", "市生态环境局", "Municipal Ecology and Environment Bureau"),
    Unit("city_market", "市市场监管局", "Municipal Market Regulation Administration"),
    Unit("city_hrss", "市人力资源社会保障局", "Municipal Human Resources and Social Security"),
    Unit("city_education", "市教委", "Municipal Education Commission"),
    Unit("city_police", "市公安局", "Municipal Public Security Bureau"),
    Unit("city_civil", "市民政局", "Municipal Civil Affairs Bureau"),
    Unit("city_greening", "市绿化市容局", "Municipal Landscaping and City Appearance"),
    Unit("huangpu_gov", "黄浦区政府", "Huangpu District Government", "huangpu"),
    Unit("xuhui_gov", "徐汇区政府", "Xuhui District Government", "xuhui"),
    Unit("jingan_gov", "静安区政府", "Jing'an District Government", "jingan"),
    Unit("pudong_gov", "浦东新区政府", "Pudong New Area Government", "pudong"),
    Unit("minhang_gov", "闵行区政府", "Minhang District Government", "minhang"),
    Unit("utility_power", "国网上海市电力公司", "State Grid Shanghai Electric Power"),
    Unit("utility_gas", "上海燃气", "Shanghai Gas"),
)


def units_as_json(units: Iterable[Unit] = SHIPPED_UNITS) -> list[dict[str, str]]:
    return [u.as_json() for u in units]


def parse_units(data: Any) -> tuple[Unit, ...]:
    """A directory as served (a list of ``{id, zh, en, district}``); bad rows are skipped,
    so a desk with a damaged cached copy still offers what it can read."""
    out: list[Unit] = []
    if not isinstance(data, list):
        return ()
    for item in data:
        if not isinstance(item, Mapping):
            continue
        uid, zh, en = (str(item.get(k) or "").strip() for k in ("id", "zh", "en"))
        if uid and zh:
            out.append(Unit(uid, zh, en or zh, str(item.get("district") or "")))
    return tuple(out)


def unit_choices(units: Iterable[Unit] | None = None, lang: str = "zh") -> list[tuple[str, str]]:
    """(stored value, label) pairs for a handling-unit picker: the value is the Chinese name."""
    return [(u.zh, u.label(lang)) for u in (units if units is not None else SHIPPED_UNITS)]
