"""Pure supplies decisions: units and conversions, the stock ledger, FEFO, packages, fair split.

Quantities are whole thousandths of an item's stock unit (`milli`: grams for kg, millilitres
for litres), so sums are exact on every engine and "agree to the kilogram" is an equality.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from tongxin.problems import InputProblem

MILLI = 1000


class Unit(StrEnum):
    """Units a donation line may be given in."""

    KG = "kg"
    T = "t"
    BOTTLE = "bottle"
    BOX = "box"
    PIECE = "piece"
    LITRE = "litre"
    M3 = "m3"


UNIT_LABELS_ZH: dict[Unit, str] = {
    Unit.KG: "千克",
    Unit.T: "吨",
    Unit.BOTTLE: "瓶",
    Unit.BOX: "箱",
    Unit.PIECE: "件",
    Unit.LITRE: "升",
    Unit.M3: "立方米",
}

# Conversions that hold for any item: same physical dimension, fixed ratio.
_SCALE: dict[tuple[Unit, Unit], Decimal] = {
    (Unit.T, Unit.KG): Decimal(1000),
    (Unit.KG, Unit.T): Decimal("0.001"),
    (Unit.M3, Unit.LITRE): Decimal(1000),
    (Unit.LITRE, Unit.M3): Decimal("0.001"),
}


class MoveKind(StrEnum):
    """Kinds of ledger entry; every change of stock is one of these."""

    RECEIVE = "receive"
    TRANSFER = "transfer"
    ASSEMBLE = "assemble"
    ALLOCATE = "allocate"
    ISSUE = "issue"
    ADJUST = "adjust"
    WRITE_OFF = "write_off"


class Bucket(StrEnum):
    """Where stock sits inside a warehouse: free to use, or set aside for an allocation."""

    FREE = "free"
    ALLOCATED = "allocated"


class SuppliesError(InputProblem):
    """Bad supplies input: a code, a readable message and where (row, field) it was found."""


def parse_unit(raw: str, *, where: str = "unit") -> Unit:
    """Return the unit named by `raw`, or raise `unknown_unit`."""
    try:
        return Unit(raw.strip().lower())
    except ValueError:
        known = ", ".join(u.value for u in Unit)
        raise SuppliesError(
            "unknown_unit", f"unknown unit {raw!r} (known: {known})", where=where
        ) from None


def parse_quantity(raw: str | int | float | Decimal, *, where: str = "quantity") -> Decimal:
    """Return a positive quantity, or raise `bad_quantity` / `negative_quantity`."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise SuppliesError("bad_quantity", f"not a number: {raw!r}", where=where) from None
    if not value.is_finite():
        raise SuppliesError("bad_quantity", f"not a number: {raw!r}", where=where)
    if value <= 0:
        raise SuppliesError(
            "negative_quantity", f"quantity must be above zero, got {raw}", where=where
        )
    return value


@dataclass(frozen=True)
class Factors:
    """Physical conversions that depend on the item, from settings (docs/logistics.md)."""

    # Gas volume (m³ at 20 °C, 1 atm) one tonne of liquid oxygen gives: 1000 kg / 1.331 kg/m³.
    oxygen_gas_m3_per_liquid_t: Decimal = Decimal(751)
    # Gas one 40 L medical cylinder at 15 MPa holds.
    oxygen_gas_m3_per_bottle: Decimal = Decimal(6)


def to_stock_milli(
    quantity: Decimal,
    unit: Unit,
    *,
    stock_unit: Unit,
    oxygen: bool,
    factors: Factors,
    where: str = "unit",
) -> int:
    """Convert a quantity given in `unit` to thousandths of the item's stock unit.

    Mass converts to mass and volume to volume. Oxygen (an item whose stock unit is gas m³)
    also converts from liquid tonnes or kilograms and from bottles, by the settings' factors.
    Anything else is `unit_mismatch`, naming both units.
    """
    if unit == stock_unit:
        factor = Decimal(1)
    elif (unit, stock_unit) in _SCALE:
        factor = _SCALE[(unit, stock_unit)]
    elif oxygen and stock_unit == Unit.M3 and unit in (Unit.T, Unit.KG):
        per_t = factors.oxygen_gas_m3_per_liquid_t
        factor = per_t if unit == Unit.T else per_t / 1000
    elif oxygen and stock_unit == Unit.M3 and unit == Unit.BOTTLE:
        factor = factors.oxygen_gas_m3_per_bottle
    else:
        raise SuppliesError(
            "unit_mismatch",
            f"{unit.value} does not convert to this item's unit {stock_unit.value}",
            where=where,
        )
    return int((quantity * factor * MILLI).to_integral_value(rounding=ROUND_HALF_UP))


def show_milli(milli: int) -> str:
    """Format thousandths as a plain number without trailing zeros (12500 -> '12.5')."""
    value = Decimal(milli) / MILLI
    text = format(value.normalize(), "f")
    return text


# A ledger position: (warehouse id, item id, lot id, bucket).
Position = tuple[int, int, int, str]


@dataclass(frozen=True)
class Move:
    """One ledger entry's effect: a signed quantity at a position."""

    position: Position
    milli: int


def apply_moves(on_hand: Mapping[Position, int], moves: Iterable[Move]) -> dict[Position, int]:
    """Return the balances after `moves`, or raise `insufficient_stock` if any goes negative.

    All moves of one operation are checked together, so a refused operation changes nothing.
    """
    after = dict(on_hand)
    for move in moves:
        after[move.position] = after.get(move.position, 0) + move.milli
    short = sorted(p for p, q in after.items() if q < 0)
    if short:
        p = short[0]
        have = on_hand.get(p, 0)
        raise SuppliesError(
            "insufficient_stock",
            f"warehouse {p[0]} item {p[1]} lot {p[2]} ({p[3]}) holds {show_milli(have)}, "
            f"{show_milli(have - after[p])} asked",
        )
    return after


@dataclass(frozen=True)
class LotStock:
    """What one lot of an item holds at a position, and when it expires (None: never)."""

    lot_id: int
    expires_on: date | None
    milli: int


def fefo_pick(
    lots: Sequence[LotStock], need_milli: int, *, today: date, what: str = "item"
) -> list[tuple[int, int]]:
    """Pick `need_milli` from lots, earliest expiry first; expired lots are never issued.

    Lots without an expiry date go last; ties go to the older lot (lower id). Returns
    (lot id, thousandths) pairs, or raises `insufficient_stock` naming what is short.
    """
    usable = [
        lot for lot in lots if lot.milli > 0 and (lot.expires_on is None or lot.expires_on >= today)
    ]
    usable.sort(key=lambda lot: (lot.expires_on is None, lot.expires_on or date.max, lot.lot_id))
    picked: list[tuple[int, int]] = []
    left = need_milli
    for lot in usable:
        if left <= 0:
            break
        take = min(lot.milli, left)
        picked.append((lot.lot_id, take))
        left -= take
    if left > 0:
        have = need_milli - left
        raise SuppliesError(
            "insufficient_stock",
            f"{what}: {show_milli(have)} usable in stock, {show_milli(need_milli)} asked",
        )
    return picked


@dataclass(frozen=True)
class Component:
    """One line of a package definition: this much of an item in each package."""

    item_id: int
    milli: int


def assembly_needs(components: Sequence[Component], packages: int) -> dict[int, int]:
    """Return the thousandths of each item that assembling `packages` packages consumes."""
    if packages <= 0:
        raise SuppliesError("negative_quantity", f"packages must be above zero, got {packages}")
    needs: dict[int, int] = {}
    for c in components:
        needs[c.item_id] = needs.get(c.item_id, 0) + c.milli * packages
    return needs


def split_by_size(total: int, sizes: Mapping[int, int], *, at_least: int = 1) -> dict[int, int]:
    """Split `total` packages among households: `at_least` each, the rest by household size.

    The rest goes by the largest-remainder method (ties to the larger household, then the
    lower id), so the shares add up to `total` exactly and differ from the proportional
    share by less than one. Raises `not_enough` when `total` cannot give everyone `at_least`.
    """
    if not sizes:
        return {}
    base = at_least * len(sizes)
    if total < base:
        raise SuppliesError(
            "not_enough",
            f"{total} packages cannot give {len(sizes)} households {at_least} each",
        )
    rest = total - base
    people = sum(max(s, 1) for s in sizes.values())
    shares: dict[int, int] = {}
    remainders: list[tuple[int, int, int]] = []
    for hid, size in sizes.items():
        exact_num = rest * max(size, 1)
        whole, remainder = divmod(exact_num, people)
        shares[hid] = at_least + whole
        remainders.append((remainder, max(size, 1), -hid))
    left = total - sum(shares.values())
    for _rem, _size, neg_id in sorted(remainders, reverse=True)[:left]:
        shares[-neg_id] += 1
    return shares


# Who is served first when there is not enough for every household in need: a bedridden
# member cannot fetch anything at all, so those households come before elderly people
# living alone; within each group the oldest member first, then the registry's order.
NEED_ORDER = ("bedridden", "elderly_alone")


def by_priority(
    needy: Sequence[tuple[int, str, date]], limit: int | None
) -> list[tuple[int, str, date]]:
    """Return the first `limit` of (household id, reason, oldest member's birth date) by need.

    `None` keeps them all (in need order). A limit below one is `bad_quantity`.
    """
    if limit is not None and limit < 1:
        raise SuppliesError("bad_quantity", f"at most {limit} households", where="limit")
    ranked = sorted(needy, key=lambda n: (NEED_ORDER.index(n[1]), n[2], n[0]))
    return ranked if limit is None else ranked[:limit]


def required_text(raw: str | None, *, where: str, max_len: int) -> str:
    """Return `raw` stripped; empty is `missing`, longer than the column is `too_long`.

    Checked here rather than left to the database: PostgreSQL refuses an overlong value with
    an error naming no field, and SQLite would store it.
    """
    value = (raw or "").strip()
    if not value:
        raise SuppliesError("missing", "this field is required", where=where)
    if len(value) > max_len:
        raise SuppliesError("too_long", f"at most {max_len} characters", where=where)
    return value


def check_coordinates(latitude: float | None, longitude: float | None, *, where: str) -> None:
    """Refuse a latitude outside ±90° or a longitude outside ±180° (`bad_value`)."""
    if latitude is not None and not -90 <= latitude <= 90:
        raise SuppliesError("bad_value", f"latitude {latitude} is not within ±90", where=where)
    if longitude is not None and not -180 <= longitude <= 180:
        raise SuppliesError("bad_value", f"longitude {longitude} is not within ±180", where=where)


# Wrong PINs an order takes before the PIN stops being accepted: a 4-digit PIN guessed
# freely falls in at most 10,000 tries; after this many only a signature on the phone or
# the dispatcher's reset (both audited) lets the delivery be confirmed.
PIN_ATTEMPTS = 5


def pin_attempts_left(wrong_since_reset: int) -> int:
    """Return how many PIN tries an order has left after so many wrong ones since its reset."""
    return max(0, PIN_ATTEMPTS - wrong_since_reset)
