"""Pure screening decisions: zones, pooling capacity, barcodes.

No database, no clock, no I/O. The ledger's per-event rules build on these.
"""

from __future__ import annotations

from enum import StrEnum

VALID_POOL_SIZES = frozenset({1, 5, 10, 20})
# Capacity stored on tubes that hold one household, whatever its size.
HOUSEHOLD_CAPACITY = 0


class Zone(StrEnum):
    """Risk zones; each sets how many swabs share a tube."""

    SEALED = "sealed"  # 封控区: single tube, or one household per tube
    CONTROLLED = "controlled"  # 管控区: 10:1
    PRECAUTION = "precaution"  # 防范区 and elsewhere: 20:1


class SealedPooling(StrEnum):
    SINGLE = "single"
    HOUSEHOLD = "household"


class PoolingError(ValueError):
    """A pooling policy outside the validated sizes."""


def check_pool_size(size: int) -> int:
    """Return the size if it is a validated pool size (1, 5, 10, 20); re-pooling is impossible."""
    if size not in VALID_POOL_SIZES:
        raise PoolingError(f"pool size {size} is not one of the validated sizes 1, 5, 10, 20")
    return size


def tube_capacity(
    *,
    zone: Zone,
    key_group: bool,
    sealed_pooling: SealedPooling,
    controlled_pool: int,
    precaution_pool: int,
    key_group_pool: int,
) -> int:
    """Return the capacity of the tube a person's swab goes into (0 = one household)."""
    if zone is Zone.SEALED:
        return HOUSEHOLD_CAPACITY if sealed_pooling is SealedPooling.HOUSEHOLD else 1
    if key_group:
        return key_group_pool
    return controlled_pool if zone is Zone.CONTROLLED else precaution_pool


def barcode_check_digit(digits: str) -> str:
    """Return the Luhn check digit of a digit string (catches any single mistyped digit)."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def tube_barcode(number: int) -> str:
    """Return the printed barcode of the n-th tube ever issued: T + 10 digits + Luhn digit."""
    digits = f"{number:010d}"
    return f"T{digits}{barcode_check_digit(digits)}"


def is_tube_barcode(code: str) -> bool:
    """Tell whether a scanned string is a well-formed tube barcode."""
    return (
        len(code) == 12
        and code[0] == "T"
        and code[1:].isdigit()
        and barcode_check_digit(code[1:11]) == code[11]
    )
