"""Word lists for the demo district: real Baiyun place names first, then parts to generate more.

Person names come from Faker's zh_CN provider word lists, read once and drawn from with the
generator's own seeded `random.Random` (Faker's own drawing is slower and shares global state).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

DISTRICT_CODE = "520113"
DISTRICT_NAME = "白云区"
DISTRICT_LATITUDE = 26.68
DISTRICT_LONGITUDE = 106.63

# Streets, towns and townships of Baiyun District; the generator uses them in this order.
REAL_STREETS: tuple[str, ...] = (
    "泉湖街道",
    "龚家寨街道",
    "大山洞街道",
    "麦架镇",
    "艳山红镇",
    "沙文镇",
    "都拉布依族乡",
    "牛场布依族乡",
    "金苏街道",
    "白沙关街道",
)

FIRST_COMMUNITY = "新星社区"
FIRST_COMPOUNDS: tuple[str, ...] = ("尖山小区", "优品城邦")

# Two-character place-name stems; generated names are a stem (or two joined) plus a suffix.
PLACE_STEMS: tuple[str, ...] = (
    "金园", "水口", "尖山", "同心", "和平", "振华", "兴隆", "青山", "龙井", "蓬莱",
    "金龙", "长山", "阳光", "云峰", "龙潭", "梅园", "桃园", "杨柳", "红星", "胜利",
    "团结", "新华", "建设", "幸福", "枫林", "竹林", "松山", "石板", "岩脚", "大坡",
    "小河", "马场", "高寨", "上寨", "下坝", "中坝", "田坝", "水塘", "观山", "黔灵",
    "南湖", "北湖", "东风", "西林", "金华", "铝城", "钢城", "长坡", "沙湾", "白马",
    "凤凰", "麒麟", "翠屏", "碧海", "锦绣", "瑞丰", "宏达", "富源", "金沙", "银杏",
    "紫荆", "丁香", "玉兰", "海棠", "芙蓉", "青松", "白鹭", "苗岭", "乌江", "红岩",
)  # fmt: skip

STREET_SUFFIXES: tuple[str, ...] = ("街道",)
TOWN_SUFFIXES: tuple[str, ...] = ("镇", "乡")
URBAN_COMMUNITY_SUFFIXES: tuple[str, ...] = ("社区",)
RURAL_COMMUNITY_SUFFIXES: tuple[str, ...] = ("村", "村", "社区")
COMPOUND_SUFFIXES: tuple[str, ...] = (
    "花园", "苑", "小区", "家园", "雅居", "名城", "公馆", "新城", "华庭", "佳园", "城邦", "府",
)  # fmt: skip
RURAL_COMPOUND_SUFFIXES: tuple[str, ...] = ("组", "寨", "安置小区")

# Guiyang city's county-level codes: where residents' ID numbers say they were registered.
# Most are Baiyun's own; weights are the share of residents per code.
ID_REGIONS: tuple[tuple[str, str, float], ...] = (
    ("520113", "贵州省贵阳市白云区", 0.60),
    ("520102", "贵州省贵阳市南明区", 0.06),
    ("520103", "贵州省贵阳市云岩区", 0.07),
    ("520111", "贵州省贵阳市花溪区", 0.04),
    ("520112", "贵州省贵阳市乌当区", 0.05),
    ("520115", "贵州省贵阳市观山湖区", 0.07),
    ("520121", "贵州省贵阳市开阳县", 0.03),
    ("520122", "贵州省贵阳市息烽县", 0.03),
    ("520123", "贵州省贵阳市修文县", 0.03),
    ("520181", "贵州省贵阳市清镇市", 0.02),
)

# Mainland mobile prefixes in common use in 2022.
MOBILE_PREFIXES: tuple[str, ...] = (
    "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159",
    "178", "182", "183", "184", "187", "188", "198", "130", "131", "132", "155", "156", "166",
    "175", "176", "185", "186", "133", "149", "153", "173", "177", "180", "181", "189", "199",
)  # fmt: skip


@dataclass(frozen=True)
class PersonNames:
    """Weighted surnames and gendered given-name characters, ready for fast drawing."""

    surnames: tuple[str, ...]
    surname_cum_weights: tuple[float, ...]
    male_given: tuple[str, ...]
    female_given: tuple[str, ...]


@lru_cache(maxsize=1)
def person_names() -> PersonNames:
    """Load the zh_CN word lists from Faker once per process."""
    from faker.providers.person.zh_CN import Provider

    surnames = tuple(Provider.last_names)
    total = 0.0
    cum: list[float] = []
    for name in surnames:
        total += float(Provider.last_names[name])
        cum.append(total)
    return PersonNames(
        surnames=surnames,
        surname_cum_weights=tuple(cum),
        male_given=tuple(Provider.first_names_male),
        female_given=tuple(Provider.first_names_female),
    )
