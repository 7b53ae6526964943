"""Pure registry decisions: area levels, ID numbers, phones, population groups.

No database, no clock, no I/O: `today` is always passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class AreaLevel(StrEnum):
    """Levels of the area tree, top to bottom."""

    DISTRICT = "district"
    STREET = "street"  # 街道 / 镇 / 乡 share this level; the name tells which
    COMMUNITY = "community"  # 社区 / 村
    COMPOUND = "compound"
    BUILDING = "building"
    UNIT = "unit"


LEVEL_ORDER: tuple[AreaLevel, ...] = tuple(AreaLevel)


def child_level(level: AreaLevel) -> AreaLevel | None:
    """Return the level directly below, or None under a unit."""
    i = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[i + 1] if i + 1 < len(LEVEL_ORDER) else None


def may_contain(parent: AreaLevel | None, child: AreaLevel) -> bool:
    """Tell whether an area of level `child` may sit directly under `parent`."""
    if parent is None:
        return child is AreaLevel.DISTRICT
    return child_level(parent) is child


class IdType(StrEnum):
    """Kinds of identity document."""

    RESIDENT_CARD = "resident_card"  # 居民身份证, GB 11643
    PASSPORT = "passport"
    OTHER = "other"


class Gender(StrEnum):
    MALE = "M"
    FEMALE = "F"


class ResidentStatus(StrEnum):
    PRESENT = "present"
    AWAY = "away"
    HOSPITALISED = "hospitalised"
    DECEASED = "deceased"


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


def id_check_digit(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits of an ID number."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalise_id_number(raw: str) -> str:
    """Strip spaces and upper-case a trailing x, as people type them."""
    return raw.strip().replace(" ", "").upper()


@dataclass(frozen=True)
class IdFacts:
    """What an 18-digit resident ID number encodes."""

    birth_date: date
    gender: Gender


class IdNumberError(ValueError):
    """An ID number that is not valid; `code` is stable for reports."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def parse_resident_id(number: str) -> IdFacts:
    """Validate an 18-digit resident ID number and return the birth date and gender it encodes."""
    if not _ID_SHAPE.match(number):
        raise IdNumberError(
            "id_shape",
            "身份证号应为18位,前17位为数字",
            "an ID number has 18 characters, 17 digits first",
        )
    if id_check_digit(number[:17]) != number[17]:
        raise IdNumberError(
            "id_check_digit", "身份证号校验位错误", "the ID number's check digit is wrong"
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(
            "id_birth_date",
            "身份证号中的出生日期无效",
            "the birth date inside the ID number is not a date",
        ) from None
    gender = Gender.MALE if int(number[16]) % 2 == 1 else Gender.FEMALE
    return IdFacts(birth_date=born, gender=gender)


def make_resident_id(region6: str, born: date, serial3: int, gender: Gender) -> str:
    """Build a valid 18-digit ID number (used by the demo generator and tests)."""
    serial = serial3 - serial3 % 2 + (1 if gender is Gender.MALE else 0)
    serial %= 1000
    first17 = f"{region6}{born:%Y%m%d}{serial:03d}"
    return first17 + id_check_digit(first17)


_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_phone(raw: str) -> str:
    """Drop spaces, dashes and a +86 prefix."""
    digits = re.sub(r"[\s\-()]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def is_mobile(phone: str) -> bool:
    """Tell whether a normalised number is a mainland mobile number."""
    return bool(_MOBILE.match(phone))


def tail(value: str | None, n: int = 4) -> str | None:
    """Return the last n characters, the key of suffix searches."""
    if not value:
        return None
    return value[-n:]


def age_on(born: date, today: date) -> int:
    """Return the age in whole years on a given day."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class Group(StrEnum):
    """Population groups that change how a resident is served."""

    ELDERLY = "elderly"
    BEDRIDDEN = "bedridden"
    DISABLED = "disabled"
    PREGNANT = "pregnant"
    CHILD = "child"
    KEY_GROUP = "key_group"
    NO_SMARTPHONE = "no_smartphone"


# Groups stored as flags; elderly and child are derived from the birth date.
STORED_GROUPS: tuple[Group, ...] = (
    Group.BEDRIDDEN,
    Group.DISABLED,
    Group.PREGNANT,
    Group.KEY_GROUP,
    Group.NO_SMARTPHONE,
)


def groups_of(
    *, born: date, flags: set[Group], today: date, elderly_age: int, child_age: int
) -> list[Group]:
    """Return a resident's groups, deriving elderly and child from age on `today`."""
    out: list[Group] = []
    age = age_on(born, today)
    if age >= elderly_age:
        out.append(Group.ELDERLY)
    if age < child_age:
        out.append(Group.CHILD)
    out.extend(g for g in STORED_GROUPS if g in flags)
    return out


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Crockford's check symbols: mod 37 catches every single-character substitution.
_CROCKFORD_CHECK = _CROCKFORD + "*~$=U"


def resident_code(number: int) -> str:
    """Encode a 40-bit number as a 9-character resident code: 8 Crockford base32 chars + check."""
    if not 0 <= number < 1 << 40:
        raise ValueError("resident code number must fit 40 bits")
    chars = []
    n = number
    for _ in range(8):
        chars.append(_CROCKFORD[n & 31])
        n >>= 5
    body = "".join(reversed(chars))
    return body + _CROCKFORD_CHECK[number % 37]


def is_resident_code(code: str) -> bool:
    """Tell whether a string is a well-formed resident code (check character included)."""
    if len(code) != 9 or any(c not in _CROCKFORD for c in code[:8]):
        return False
    number = 0
    for c in code[:8]:
        number = number * 32 + _CROCKFORD.index(c)
    return _CROCKFORD_CHECK[number % 37] == code[8]


# Household cards: 2 columns x 4 rows of 95 x 64 mm fit an A4 page inside 10 mm margins.
CARDS_PER_PAGE = 8


def paginate_cards(
    household_sizes: list[int], per_page: int = CARDS_PER_PAGE
) -> list[list[tuple[int, int]]]:
    """Lay household cards out on pages: per page, (household index, number of its cards).

    Sizes [3, 6] on 8-card pages give [[(0, 3)], [(1, 6)]]: a household starts on a fresh
    page when it does not fit in what is left of the current one but fits a whole page, so a
    family's cards are cut from one sheet. A household larger than a page fills pages in
    turn. Empty households get no card.
    """
    if per_page < 1:
        raise ValueError(f"a page holds at least one card, not {per_page}")
    pages: list[list[tuple[int, int]]] = []
    page: list[tuple[int, int]] = []
    free = per_page
    for index, size in enumerate(household_sizes):
        if size <= 0:
            continue
        if size > free and size <= per_page and page:
            pages.append(page)
            page, free = [], per_page
        left = size
        while left:
            take = min(left, free)
            page.append((index, take))
            left -= take
            free -= take
            if free == 0:
                pages.append(page)
                page, free = [], per_page
    if page:
        pages.append(page)
    return pages
