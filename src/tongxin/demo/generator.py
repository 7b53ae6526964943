"""Generate the synthetic 白云区 demo district from one seeded `random.Random`.

Pure: no database, no clock, no I/O. The same seed, size and `as_of` day always give the same
plan and the same stream of chunks, one chunk per compound, so a caller can write them in
batches and keep memory bounded at any size.

Area codes (documented in docs/demo.md): district `520113`; street = district + 3 digits
(`520113001`); community = street + 3 digits (`520113001001`); compound = community + `-` +
2 digits (`520113001001-01`); building = compound + `-` + 2 digits; unit = building + `-` +
a number. The widths are minimums: a 100th building is `-100`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from tongxin.demo import names
from tongxin.registry.rules import (
    AreaLevel,
    Gender,
    ResidentStatus,
    make_resident_id,
    resident_code,
)

# The demo is set in the week of the Sept 2022 Guiyang rounds; ages are counted on this day
# so the same seed gives the same database whenever it is built.
AS_OF = date(2022, 9, 23)

# China, 2020 census, share of the population (%) per five-year age band from 0-4 to 90+.
AGE_BANDS: tuple[float, ...] = (
    5.4, 6.3, 5.9, 5.2, 5.3, 6.4, 8.8, 6.9, 6.6, 8.2, 8.7, 7.1, 5.1, 5.1, 3.5, 2.2, 1.4, 0.7, 0.3,
)  # fmt: skip

# 2020 census household sizes 1..6 (%); mean about 2.6.
HOUSEHOLD_SIZES: tuple[float, ...] = (25.4, 29.7, 20.9, 13.2, 6.2, 4.6)

OCCUPANCY = 0.88
# Larger communities and compounds cap at these sizes; smaller builds scale down.
COMMUNITY_MAX = 12_000
COMPOUND_MAX = 2_750
RURAL_COMPOUND_MAX = 1_500
# 新星社区 gets this weight, every other community 0.6-1.3, so it is always the largest.
FIRST_COMMUNITY_WEIGHT = 1.6


class BuildingKind(StrEnum):
    """How a compound is built: floors, units and rooms per floor differ."""

    HIGH_RISE = "high_rise"
    MID_RISE = "mid_rise"
    RURAL = "rural"


@dataclass(frozen=True, slots=True)
class AreaSpec:
    """One area to create; its parent is created before it."""

    code: str
    name: str
    level: AreaLevel
    parent_code: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class HouseholdSpec:
    """A household in a unit, with the day it moved in."""

    unit_code: str
    room: str
    moved_in: date


@dataclass(frozen=True, slots=True)
class PersonSpec:
    """One resident; `household` indexes the chunk's households."""

    household: int
    resident_code: str
    name: str
    gender: str
    birth_date: date
    phone: str | None
    id_number: str
    registered_address: str
    bedridden: bool
    disabled: bool
    pregnant: bool
    key_group: bool
    no_smartphone: bool
    status: str
    status_since: date | None


@dataclass
class Chunk:
    """What one compound adds: new areas (parents first), households and people."""

    areas: list[AreaSpec] = field(default_factory=list)
    households: list[HouseholdSpec] = field(default_factory=list)
    people: list[PersonSpec] = field(default_factory=list)


@dataclass(frozen=True)
class CompoundPlan:
    code: str
    name: str
    residents: int
    kind: BuildingKind
    latitude: float
    longitude: float


@dataclass(frozen=True)
class CommunityPlan:
    code: str
    name: str
    latitude: float
    longitude: float
    compounds: tuple[CompoundPlan, ...]

    @property
    def residents(self) -> int:
        """Return how many people the community's compounds hold."""
        return sum(c.residents for c in self.compounds)


@dataclass(frozen=True)
class StreetPlan:
    code: str
    name: str
    rural: bool
    latitude: float
    longitude: float
    communities: tuple[CommunityPlan, ...]


@dataclass(frozen=True)
class DistrictPlan:
    """The area tree down to compounds with the number of residents each gets."""

    residents: int
    streets: tuple[StreetPlan, ...]

    def communities(self) -> Iterator[CommunityPlan]:
        """Yield every community, street by street."""
        for street in self.streets:
            yield from street.communities

    def largest_community(self) -> CommunityPlan:
        """Return the community with the most residents (新星社区 by construction)."""
        return max(self.communities(), key=lambda c: c.residents)


def split(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integer parts proportional to `weights` (largest remainder)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _clamp(value: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, value))


def _jitter(rng: random.Random, centre: float, spread: float) -> float:
    return round(centre + rng.uniform(-spread, spread), 6)


class _Namer:
    """Hand out real names first, then generated ones, never the same twice in a scope."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, suffixes: tuple[str, ...], real: tuple[str, ...] = (), index: int = -1) -> str:
        if 0 <= index < len(real) and real[index] not in self.used:
            self.used.add(real[index])
            return real[index]
        stems = names.PLACE_STEMS
        for attempt in range(40):
            stem = self.rng.choice(stems)
            if attempt >= 20:
                stem += self.rng.choice(stems)
            name = stem + self.rng.choice(suffixes)
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("ran out of generated place names")  # pragma: no cover


def plan_district(residents: int, rng: random.Random) -> DistrictPlan:
    """Size the tree from the number of residents and name every node down to compounds."""
    if residents < 1:
        raise ValueError("a demo district needs at least one resident")
    mean_community = _clamp(residents / 8, 400, COMMUNITY_MAX)
    n_communities = max(1, round(residents / mean_community))
    weights = [FIRST_COMMUNITY_WEIGHT] + [rng.uniform(0.6, 1.3) for _ in range(n_communities - 1)]
    community_sizes = split(residents, weights)
    n_streets = min(n_communities, max(4, round(n_communities / 6)))
    street_weights = [rng.uniform(0.7, 1.3) for _ in range(n_streets)]
    per_street = [1 + extra for extra in split(n_communities - n_streets, street_weights)]

    street_namer = _Namer(rng)
    streets: list[StreetPlan] = []
    next_community = 0
    for s in range(n_streets):
        if s < len(names.REAL_STREETS):
            street_name = street_namer.make((), names.REAL_STREETS, s)
        else:
            suffixes = names.STREET_SUFFIXES if rng.random() < 0.6 else names.TOWN_SUFFIXES
            street_name = street_namer.make(suffixes)
        rural = street_name.endswith(names.TOWN_SUFFIXES)
        street_code = f"{names.DISTRICT_CODE}{s + 1:03d}"
        s_lat = _jitter(rng, names.DISTRICT_LATITUDE, 0.07)
        s_lon = _jitter(rng, names.DISTRICT_LONGITUDE, 0.07)
        community_namer = _Namer(rng)
        communities: list[CommunityPlan] = []
        for c in range(per_street[s]):
            size = community_sizes[next_community]
            first = next_community == 0
            next_community += 1
            if first:
                c_name = community_namer.make((), (names.FIRST_COMMUNITY,), 0)
            else:
                suffixes = (
                    names.RURAL_COMMUNITY_SUFFIXES if rural else names.URBAN_COMMUNITY_SUFFIXES
                )
                c_name = community_namer.make(suffixes)
            c_code = f"{street_code}{c + 1:03d}"
            c_lat, c_lon = _jitter(rng, s_lat, 0.015), _jitter(rng, s_lon, 0.015)
            compounds = _plan_compounds(rng, c_code, size, rural, first, c_lat, c_lon)
            communities.append(CommunityPlan(c_code, c_name, c_lat, c_lon, compounds))
        streets.append(
            StreetPlan(street_code, street_name, rural, s_lat, s_lon, tuple(communities))
        )
    return DistrictPlan(residents, tuple(streets))


def _plan_compounds(
    rng: random.Random,
    community_code: str,
    size: int,
    rural: bool,
    first: bool,
    latitude: float,
    longitude: float,
) -> tuple[CompoundPlan, ...]:
    mean = _clamp(size / 4, 250, RURAL_COMPOUND_MAX if rural else COMPOUND_MAX)
    count = max(1, round(size / mean))
    if first and size >= 2 * 200:
        count = max(count, len(names.FIRST_COMPOUNDS))
    sizes = split(size, [rng.uniform(0.7, 1.3) for _ in range(count)])
    namer = _Namer(rng)
    out = []
    for i, people in enumerate(sizes):
        if first:
            name = namer.make(names.COMPOUND_SUFFIXES, names.FIRST_COMPOUNDS, i)
        elif rural and rng.random() < 0.7:
            name = namer.make(names.RURAL_COMPOUND_SUFFIXES)
        else:
            name = namer.make(names.COMPOUND_SUFFIXES)
        if rural:
            kind = BuildingKind.RURAL
        else:
            kind = BuildingKind.HIGH_RISE if rng.random() < 0.7 else BuildingKind.MID_RISE
        out.append(
            CompoundPlan(
                code=f"{community_code}-{i + 1:02d}",
                name=name,
                residents=people,
                kind=kind,
                latitude=_jitter(rng, latitude, 0.005),
                longitude=_jitter(rng, longitude, 0.005),
            )
        )
    return tuple(out)


def _cumulative(weights: tuple[float, ...]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


_AGE_CUM = _cumulative(AGE_BANDS)
_SIZE_CUM = _cumulative(HOUSEHOLD_SIZES)
_REGION_CUM = _cumulative(tuple(w for _, _, w in names.ID_REGIONS))
_BANDS = list(range(len(AGE_BANDS)))


class DistrictGenerator:
    """Stream a demo district: `plan` first, then `chunks()` one compound at a time."""

    def __init__(self, *, residents: int, seed: int, as_of: date = AS_OF) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.as_of = as_of
        self.plan = plan_district(residents, self.rng)
        self._names = names.person_names()
        self._male_single = tuple(n for n in self._names.male_given if len(n) == 1)
        self._female_single = tuple(n for n in self._names.female_given if len(n) == 1)
        # Next serial per (birth day, region, gender), so ID numbers never collide.
        self._serials: dict[int, int] = {}
        self._person_index = 0

    def chunks(self) -> Iterator[Chunk]:
        """Yield one chunk per compound, each carrying any new parent areas first."""
        district = AreaSpec(
            names.DISTRICT_CODE,
            names.DISTRICT_NAME,
            AreaLevel.DISTRICT,
            None,
            names.DISTRICT_LATITUDE,
            names.DISTRICT_LONGITUDE,
        )
        pending: list[AreaSpec] = [district]
        for street in self.plan.streets:
            pending.append(
                AreaSpec(
                    street.code,
                    street.name,
                    AreaLevel.STREET,
                    names.DISTRICT_CODE,
                    street.latitude,
                    street.longitude,
                )
            )
            for community in street.communities:
                pending.append(
                    AreaSpec(
                        community.code,
                        community.name,
                        AreaLevel.COMMUNITY,
                        street.code,
                        community.latitude,
                        community.longitude,
                    )
                )
                for compound in community.compounds:
                    chunk = Chunk(areas=pending)
                    pending = []
                    self._fill_compound(chunk, compound, community.code)
                    yield chunk

    def _fill_compound(self, chunk: Chunk, compound: CompoundPlan, community_code: str) -> None:
        rng = self.rng
        chunk.areas.append(
            AreaSpec(
                compound.code,
                compound.name,
                AreaLevel.COMPOUND,
                community_code,
                compound.latitude,
                compound.longitude,
            )
        )
        remaining = compound.residents
        building_no = 0
        while remaining > 0:
            building_no += 1
            floors, units, per_floor = self._building_shape(compound.kind)
            b_code = f"{compound.code}-{building_no:02d}"
            chunk.areas.append(
                AreaSpec(
                    b_code,
                    f"{building_no}栋",
                    AreaLevel.BUILDING,
                    compound.code,
                    _jitter(rng, compound.latitude, 0.0008),
                    _jitter(rng, compound.longitude, 0.0008),
                )
            )
            for unit_no in range(1, units + 1):
                if remaining <= 0:
                    break
                u_code = f"{b_code}-{unit_no}"
                chunk.areas.append(
                    AreaSpec(u_code, f"{unit_no}单元", AreaLevel.UNIT, b_code, None, None)
                )
                for floor in range(1, floors + 1):
                    for room_no in range(1, per_floor + 1):
                        if remaining <= 0:
                            break
                        if rng.random() > OCCUPANCY:
                            continue
                        size = min(remaining, self._household_size())
                        remaining -= size
                        self._add_household(chunk, u_code, f"{floor}{room_no:02d}", size)

    def _building_shape(self, kind: BuildingKind) -> tuple[int, int, int]:
        rng = self.rng
        if kind is BuildingKind.HIGH_RISE:
            return rng.randint(18, 33), rng.randint(1, 3), rng.randint(2, 4)
        if kind is BuildingKind.MID_RISE:
            return rng.randint(6, 7), rng.randint(2, 4), 2
        return rng.randint(2, 5), rng.randint(1, 2), 2

    def _household_size(self) -> int:
        return self.rng.choices(range(1, 7), cum_weights=_SIZE_CUM)[0]

    def _age(self, lo: int = 0, hi: int = 99) -> int:
        rng = self.rng
        while True:
            band = rng.choices(_BANDS, cum_weights=_AGE_CUM)[0]
            age = band * 5 + rng.randrange(10 if band == len(AGE_BANDS) - 1 else 5)
            if lo <= age <= hi:
                return age

    def _members(self, size: int) -> list[tuple[int, Gender, bool]]:
        """Return (age, gender, takes the family surname) for a plausible household."""
        rng = self.rng
        male, female = Gender.MALE, Gender.FEMALE

        def child_of(parent_age: int) -> int:
            return max(0, parent_age - rng.randint(22, 34))

        def parent_of(child_age: int) -> int:
            return min(99, child_age + rng.randint(22, 34))

        def couple(lo: int, hi: int) -> list[tuple[int, Gender, bool]]:
            head = self._age(lo, hi)
            return [(head, male, True), (_clamp_age(head + rng.randint(-5, 3)), female, False)]

        def kid(parent_age: int) -> tuple[int, Gender, bool]:
            return (child_of(parent_age), rng.choice((male, female)), True)

        def grandparents(head: int, count: int) -> list[tuple[int, Gender, bool]]:
            gp = parent_of(head)
            if count == 2:
                return [(gp, male, True), (_clamp_age(gp + rng.randint(-5, 3)), female, False)]
            return [(gp, female if rng.random() < 0.6 else male, False)]

        roll = rng.random()
        if size == 1:
            # Many one-person households are elderly people living alone (空巢老人).
            lo = 60 if roll < 0.3 else 18
            return [(self._age(lo, 99), rng.choice((male, female)), True)]
        if size == 2:
            if roll < 0.6:
                return couple(22, 99)
            if roll < 0.85:
                # One parent at home with a child: the other often works away (外出务工).
                head = self._age(26, 48)
                return [(head, rng.choice((male, female)), True), kid(head)]
            head = self._age(30, 65)
            return [(head, rng.choice((male, female)), True), *grandparents(head, 1)]
        if size == 3:
            if roll < 0.75:
                members = couple(24, 50)
                return [*members, kid(members[0][0])]
            members = couple(25, 55)
            return [*members, *grandparents(members[0][0], 1)]
        if size == 4:
            members = couple(26, 50)
            head = members[0][0]
            if roll < 0.55:
                return [*members, kid(head), kid(head)]
            return [*members, kid(head), *grandparents(head, 1)]
        members = couple(27, 50)
        head = members[0][0]
        if size == 5:
            if roll < 0.55:
                return [*members, kid(head), *grandparents(head, 2)]
            return [*members, kid(head), kid(head), *grandparents(head, 1)]
        return [*members, kid(head), kid(head), *grandparents(head, 2)]

    def _add_household(self, chunk: Chunk, unit_code: str, room: str, size: int) -> None:
        rng = self.rng
        as_of = self.as_of
        index = len(chunk.households)
        chunk.households.append(
            HouseholdSpec(unit_code, room, as_of - timedelta(days=rng.randint(30, 25 * 365)))
        )
        family_name = self._surname()
        region = rng.choices(range(len(names.ID_REGIONS)), cum_weights=_REGION_CUM)[0]
        members = self._members(size)
        for age, gender, family in members:
            chunk.people.append(
                self._person(index, age, gender, family_name if family else self._surname(), region)
            )

    def _surname(self) -> str:
        n = self._names
        return self.rng.choices(n.surnames, cum_weights=n.surname_cum_weights)[0]

    def _person(
        self, household: int, age: int, gender: Gender, surname: str, region: int
    ) -> PersonSpec:
        rng = self.rng
        as_of = self.as_of
        born = date.fromordinal(as_of.toordinal() - int((age + rng.random()) * 365.2425))
        born = min(born, as_of)
        pool = self._names.male_given if gender is Gender.MALE else self._names.female_given
        single = self._male_single if gender is Gender.MALE else self._female_single
        # About four in ten given names are one character, the rest two.
        given = rng.choice(pool) if rng.random() < 0.4 else rng.choice(single) + rng.choice(single)
        region_address, id_number = self._id_number(born, gender, region)

        smartphone_gone, phone_share = _phone_odds(age)
        no_smartphone = age >= 14 and rng.random() < smartphone_gone
        phone = None
        if rng.random() < phone_share:
            phone = rng.choice(names.MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
        bed_odds, disabled_odds = _care_odds(age)
        bedridden = rng.random() < bed_odds
        disabled = rng.random() < disabled_odds
        pregnant = gender is Gender.FEMALE and 20 <= age <= 42 and rng.random() < 0.03
        key_group = 20 <= age <= 59 and rng.random() < 0.015
        status = ResidentStatus.PRESENT.value
        roll = rng.random()
        if roll < (0.08 if bedridden else 0.003):
            status = ResidentStatus.HOSPITALISED.value
        elif 18 <= age <= 59 and roll > 0.975:
            status = ResidentStatus.AWAY.value
        status_since = (
            None
            if status == ResidentStatus.PRESENT.value
            else as_of - timedelta(days=rng.randint(1, 90))
        )
        number = (self._person_index * 0x5DEECE66D + self.seed * 0x9E3779B1) % (1 << 40)
        self._person_index += 1
        return PersonSpec(
            household=household,
            resident_code=resident_code(number),
            name=surname + given,
            gender=gender.value,
            birth_date=born,
            phone=phone,
            id_number=id_number,
            registered_address=region_address,
            bedridden=bedridden,
            disabled=disabled,
            pregnant=pregnant,
            key_group=key_group,
            no_smartphone=no_smartphone,
            status=status,
            status_since=status_since,
        )

    def _id_number(self, born: date, gender: Gender, region: int) -> tuple[str, str]:
        """Return a region and an ID number no other resident of this build has."""
        day = born.toordinal()
        male = 1 if gender is Gender.MALE else 0
        regions = len(names.ID_REGIONS)
        for step in range(regions):
            r = (region + step) % regions
            key = (day * 16 + r) * 2 + male
            k = self._serials.get(key, 0)
            if k < 500:
                self._serials[key] = k + 1
                # A stride coprime with 500 spreads serials so they do not all start at 000.
                serial3 = 2 * ((k * 37 + day) % 500)
                code, address, _ = names.ID_REGIONS[r]
                return address, make_resident_id(code, born, serial3, gender)
        raise RuntimeError(f"more than {500 * regions} residents born on {born} of one gender")


def _clamp_age(age: int) -> int:
    return max(18, min(99, age))


def _phone_odds(age: int) -> tuple[float, float]:
    """Return (chance of having no smartphone, chance of having any phone number) at an age."""
    if age < 14:
        return 0.0, 0.0
    if age < 18:
        return 0.05, 0.6
    if age < 60:
        return 0.01, 0.97
    if age < 70:
        return 0.15, 0.92
    if age < 80:
        return 0.4, 0.8
    return 0.7, 0.55


def _care_odds(age: int) -> tuple[float, float]:
    """Return (bedridden, disabled) chances at an age; both rise steeply after 80."""
    if age < 60:
        return 0.001, 0.009
    if age < 80:
        return 0.015, 0.03
    return 0.08, 0.06
