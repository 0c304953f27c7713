"""Districts a ticket can be routed to: Shanghai's 16 by default, any list for another city.

A district is stored on tickets by its stable English ``id`` (``"pudong"``), never by its
display name, so renaming a label (or switching the UI language) changes no stored data.
``code`` is the GB/T 2260 administrative-division code, useful for exports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class District:
    id: str
    zh: str
    en: str
    code: str = ""

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def spellings(self) -> tuple[str, ...]:
        """What an agent may type for this district: id, names, names without 区/新区/District."""
        names = {self.id, self.zh, self.en, self.code}
        for suffix in ("新区", "区"):
            if self.zh.endswith(suffix) and len(self.zh) > len(suffix) + 1:
                names.add(self.zh[: -len(suffix)])
        for suffix in (" New Area", " District"):
            if self.en.endswith(suffix):
                names.add(self.en[: -len(suffix)])
        return tuple(sorted(n.casefold().replace("'", "").replace(" ", "") for n in names if n))


SHANGHAI_DISTRICTS: tuple[District, ...] = (
    District("huangpu", "黄浦区", "Huangpu", "310101"),
    District("xuhui", "徐汇区", "Xuhui", "310104"),
    District("changning", "长宁区", "Changning", "310105"),
    District("jingan", "静安区", "Jing'an", "310106"),
    District("putuo", "普陀区", "Putuo", "310107"),
    District("hongkou", "虹口区", "Hongkou", "310109"),
    District("yangpu", "杨浦区", "Yangpu", "310110"),
    District("minhang", "闵行区", "Minhang", "310112"),
    District("baoshan", "宝山区", "Baoshan", "310113"),
    District("jiading", "嘉定区", "Jiading", "310114"),
    District("pudong", "浦东新区", "Pudong New Area", "310115"),
    District("jinshan", "金山区", "Jinshan", "310116"),
    District("songjiang", "松江区", "Songjiang", "310117"),
    District("qingpu", "青浦区", "Qingpu", "310118"),
    District("fengxian", "奉贤区", "Fengxian", "310120"),
    District("chongming", "崇明区", "Chongming", "310151"),
)

DEFAULT_DISTRICTS = SHANGHAI_DISTRICTS


def as_districts(items: Iterable[District | str] | None) -> tuple[District, ...]:
    """Accept a configured list of ``District`` objects or plain names (used as id and labels)."""
    if items is None:
        return DEFAULT_DISTRICTS
    out: list[District] = []
    for item in items:
        out.append(item if isinstance(item, District) else District(item, item, item))
    return tuple(out)


def find_district(text: str, districts: Sequence[District] | None = None) -> District | None:
    """The district ``text`` names (id, Chinese or English name, code; case and 区 optional)."""
    key = text.strip().casefold().replace("'", "").replace(" ", "")
    if not key:
        return None
    for district in districts if districts is not None else DEFAULT_DISTRICTS:
        if key in _spellings(district):
            return district
    return None


@lru_cache(maxsize=1024)
def _spellings(district: District) -> frozenset[str]:
    """``district.spellings()`` made once per district (the server checks every ticket's)."""
    return frozenset(district.spellings())


def district_by_id(district_id: str, districts: Sequence[District] | None = None) -> District:
    for district in districts if districts is not None else DEFAULT_DISTRICTS:
        if district.id == district_id:
            return district
    raise KeyError(district_id)


def district_label(
    value: str | None, lang: str = "zh", districts: Sequence[District] | None = None
) -> str:
    """What to show for a stored district: its label, or the stored text itself if unknown."""
    if not value:
        return ""
    for district in districts if districts is not None else DEFAULT_DISTRICTS:
        if district.id == value:
            return district.label(lang)
    return value


# 街道/镇 of the districts whose lists are recorded here. A street typed for one of these
# districts must be one of its own (the unit that handles a ticket is chosen by it); for the
# other districts the street is kept as typed, until their lists are added.
STREETS: dict[str, tuple[str, ...]] = {
    "huangpu": (
        "南京东路街道", "外滩街道", "半淞园路街道", "小东门街道", "豫园街道",
        "老西门街道", "五里桥街道", "打浦桥街道", "淮海中路街道", "瑞金二路街道",
    ),
    "xuhui": (
        "天平路街道", "湖南路街道", "斜土路街道", "枫林路街道", "长桥街道", "田林街道",
        "虹梅路街道", "康健新村街道", "徐家汇街道", "凌云路街道", "龙华街道",
        "漕河泾街道", "华泾镇",
    ),
    "jingan": (
        "江宁路街道", "石门二路街道", "南京西路街道", "静安寺街道", "曹家渡街道",
        "天目西路街道", "北站街道", "宝山路街道", "共和新路街道", "大宁路街道",
        "彭浦新村街道", "临汾路街道", "芷江西路街道", "彭浦镇",
    ),
}  # fmt: skip


def streets_of(district_id: str) -> tuple[str, ...]:
    """The recorded streets/towns of a district ('' or an unrecorded district: none)."""
    return STREETS.get(district_id, ())


def find_street(text: str, district_id: str) -> str | None:
    """The street of ``district_id`` that ``text`` names, with or without 街道/镇."""
    key = text.strip().replace(" ", "")
    if not key:
        return None
    for street in streets_of(district_id):
        if key == street or key == street.removesuffix("街道").removesuffix("镇"):
            return street
    return None
