"""Pure field-app decisions: which zone and pooling capacity a device should apply offline.

No database, no clock, no I/O. The ledger (`screening.decide`) has the final word; these
mirror it so a device can refuse at the table what the server would reject anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tongxin.screening.rules import SealedPooling, Zone, tube_capacity

# A site has about 1-3k people; the context refuses to grow past this many residents so
# one device sync stays small, and says when it was cut.
MAX_CONTEXT_RESIDENTS = 5000


def nearest_zone(ancestors: Sequence[int | None], zones: Mapping[int, str], default: str) -> str:
    """Return the zone of the nearest target area among `ancestors` (nearest first)."""
    return next((zones[a] for a in ancestors if a is not None and a in zones), default)


def person_capacity(
    *,
    zone: str,
    key_group: bool,
    sealed_pooling: str,
    controlled_pool: int,
    precaution_pool: int,
    key_group_pool: int,
) -> int:
    """Return the tube capacity the ledger will expect for a person (0 = one household)."""
    return tube_capacity(
        zone=Zone(zone),
        key_group=key_group,
        sealed_pooling=SealedPooling(sealed_pooling),
        controlled_pool=controlled_pool,
        precaution_pool=precaution_pool,
        key_group_pool=key_group_pool,
    )
