"""Round set-up: rounds and their target zones, labs, sites and stations, tubes, device tokens.

Services flush, never commit: the CLI command or request owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from tongxin.registry.models import Area
from tongxin.registry.rules import AreaLevel
from tongxin.screening import rules
from tongxin.screening.models import (
    DeviceToken,
    Lab,
    Round,
    RoundArea,
    RoundLab,
    Site,
    Station,
    Tube,
    TubeBatch,
)
from tongxin.screening.projections import any_of, listed, prepared
from tongxin.screening.rules import SealedPooling, Zone

DEFAULT_DEADLINE = timedelta(hours=24)


class SetupError(ValueError):
    """A set-up request that cannot be carried out; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def create_round(
    session: Session,
    *,
    code: str,
    name: str,
    district: Area,
    targets: Sequence[tuple[Area, Zone]],
    starts_at: datetime,
    deadline: datetime | None = None,
    sealed_pooling: SealedPooling = SealedPooling.SINGLE,
    controlled_pool: int = 10,
    precaution_pool: int = 20,
    key_group_pool: int = 1,
) -> Round:
    """Create a round over target areas, each marked with its zone (deadline 24 h by default)."""
    if district.level != AreaLevel.DISTRICT:
        raise SetupError("round_district", f"{district.code} is not a district")
    if session.scalar(select(Round.id).where(Round.code == code)) is not None:
        raise SetupError("round_exists", f"round {code!r} already exists")
    if not targets:
        raise SetupError("round_targets", "a round needs at least one target area")
    for pool in (controlled_pool, precaution_pool, key_group_pool):
        try:
            rules.check_pool_size(pool)
        except rules.PoolingError as exc:
            raise SetupError("pool_size", str(exc)) from None
    for area, _zone in targets:
        if area.district_id != district.id:
            raise SetupError("round_target_outside", f"{area.code} is not in {district.code}")
    rnd = Round(
        code=code,
        name=name,
        district_id=district.id,
        starts_at=starts_at,
        deadline=deadline or starts_at + DEFAULT_DEADLINE,
        sealed_pooling=sealed_pooling.value,
        controlled_pool=controlled_pool,
        precaution_pool=precaution_pool,
        key_group_pool=key_group_pool,
        created_at=starts_at,
    )
    session.add(rnd)
    session.flush()
    session.add_all(RoundArea(round_id=rnd.id, area_id=a.id, zone=z.value) for a, z in targets)
    session.flush()
    return rnd


def round_by_code(session: Session, code: str) -> Round:
    """Return the round with this code or raise SetupError."""
    rnd = session.scalar(select(Round).where(Round.code == code))
    if rnd is None:
        raise SetupError("round_unknown", f"no round with code {code!r}")
    return rnd


def lab_by_code(session: Session, code: str) -> Lab:
    """Return the lab with this code or raise SetupError."""
    lab = session.scalar(select(Lab).where(Lab.code == code))
    if lab is None:
        raise SetupError("lab_unknown", f"no lab with code {code!r}")
    return lab


def add_lab(session: Session, *, code: str, name: str, round: Round | None = None) -> Lab:
    """Register a lab (once) and, when a round is given, let that round use it."""
    lab = session.scalar(select(Lab).where(Lab.code == code))
    if lab is None:
        lab = Lab(code=code, name=name)
        session.add(lab)
        session.flush()
    if round is not None and (
        session.scalar(
            select(RoundLab.id).where(RoundLab.round_id == round.id, RoundLab.lab_id == lab.id)
        )
        is None
    ):
        session.add(RoundLab(round_id=round.id, lab_id=lab.id))
        session.flush()
    return lab


def zone_of(session: Session, *, round: Round, area: Area) -> Zone:
    """Return the zone of the round's nearest target area containing `area`."""
    targets: dict[int, str] = {
        area_id: zone
        for area_id, zone in session.execute(
            select(RoundArea.area_id, RoundArea.zone).where(RoundArea.round_id == round.id)
        )
    }
    for ancestor in (
        area.id,
        area.building_id,
        area.compound_id,
        area.community_id,
        area.street_id,
        area.district_id,
    ):
        if ancestor is not None and ancestor in targets:
            return Zone(targets[ancestor])
    raise SetupError("site_outside_round", f"{area.code} is not inside the round's target areas")


def add_site(
    session: Session, *, round: Round, code: str, name: str, area: Area, stations: int
) -> tuple[Site, list[Station]]:
    """Open a sampling site in an area with N stations; station codes are `<site>-<n>`."""
    if stations < 1:
        raise SetupError("site_stations", "a site needs at least one station")
    if session.scalar(select(Site.id).where(Site.round_id == round.id, Site.code == code)):
        raise SetupError("site_exists", f"site {code!r} already exists in round {round.code}")
    zone = zone_of(session, round=round, area=area)
    assert area.district_id is not None
    site = Site(
        round_id=round.id,
        code=code,
        name=name,
        area_id=area.id,
        district_id=area.district_id,
        zone=zone.value,
    )
    session.add(site)
    session.flush()
    made = [
        Station(site_id=site.id, round_id=round.id, code=f"{round.code}-{code}-{n}")
        for n in range(1, stations + 1)
    ]
    session.add_all(made)
    session.flush()
    return site, made


@dataclass(frozen=True)
class IssuedBatch:
    """A printed batch of tube barcodes."""

    batch: TubeBatch
    barcodes: list[str]


def issue_tubes(session: Session, *, round: Round, count: int, capacity: int) -> IssuedBatch:
    """Pre-issue `count` tube barcodes of one capacity for a round, in one insert."""
    if count < 1:
        raise SetupError("tube_count", "issue at least one tube")
    if capacity != rules.HOUSEHOLD_CAPACITY:
        try:
            rules.check_pool_size(capacity)
        except rules.PoolingError as exc:
            raise SetupError("pool_size", str(exc)) from None
    start = int(session.scalar(select(func.count(Tube.id))) or 0) + 1
    barcodes = [rules.tube_barcode(n) for n in range(start, start + count)]
    batch = TubeBatch(
        round_id=round.id,
        capacity=capacity,
        count=count,
        first_barcode=barcodes[0],
        last_barcode=barcodes[-1],
        issued_at=round.starts_at,
    )
    session.add(batch)
    session.flush()
    session.execute(
        insert(Tube),
        [
            {
                "barcode": b,
                "round_id": round.id,
                "batch_id": batch.id,
                "district_id": round.district_id,
                "capacity": capacity,
                "state": "issued",
                "member_count": 0,
            }
            for b in barcodes
        ],
    )
    return IssuedBatch(batch=batch, barcodes=barcodes)


@dataclass(frozen=True)
class DeviceScope:
    """What a device token lets a device do: one round, and one site, one lab or a courier.

    A courier (`courier=True`, no site, no lab) may only record pick-ups into its own custody.
    """

    device: str
    round_id: int
    site_id: int | None
    lab_id: int | None
    courier: bool = False


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_device_token(
    session: Session,
    *,
    round: Round,
    device: str,
    now: datetime,
    site: Site | None = None,
    lab: Lab | None = None,
    courier: bool = False,
    valid_for: timedelta = timedelta(hours=36),
) -> tuple[str, DeviceToken]:
    """Issue a bearer token for a field device; only its hash is stored.

    A token is a site's, a lab's or (`courier=True`) a courier's, whose device name is the
    courier's code: the lab scans it when the courier delivers.
    """
    if sum((site is not None, lab is not None, courier)) != 1:
        raise SetupError(
            "token_scope", "a device token is scoped to exactly one site, one lab or a courier"
        )
    if courier and session.scalar(
        select(DeviceToken.id).where(
            DeviceToken.round_id == round.id,
            DeviceToken.device == device,
            DeviceToken.courier.is_(False),
        )
    ):
        raise SetupError("token_device", f"device {device!r} already has a site or lab token")
    token = "txd_" + secrets.token_urlsafe(32)
    row = DeviceToken(
        token_hash=_hash_token(token),
        device=device,
        round_id=round.id,
        site_id=site.id if site else None,
        lab_id=lab.id if lab else None,
        courier=courier,
        issued_at=now,
        expires_at=now + valid_for,
    )
    session.add(row)
    session.flush()
    return token, row


def scope_for_token(session: Session, *, token: str, now: datetime) -> DeviceScope | None:
    """Return the scope of a live token, or None when unknown, expired or revoked."""
    return scopes_for_tokens(session, tokens={token}, now=now).get(token)


def scopes_for_tokens(
    session: Session, *, tokens: set[str], now: datetime
) -> dict[str, DeviceScope | None]:
    """Look several tokens up at once: token -> scope, or None when unknown, expired, revoked."""
    hashed = {_hash_token(t): t for t in tokens}
    found: dict[str, DeviceScope | None] = dict.fromkeys(tokens)
    conn = session.connection()
    # Every capture request group asks this first: a reused Core statement, not an ORM load.
    stmt = prepared(conn, "device-tokens", _tokens_stmt)
    rows = conn.execute(stmt, {"hashes": listed(conn, hashed)}).tuples()
    for token_hash, device, round_id, site_id, lab_id, courier, revoked_at, expires_at in rows:
        if revoked_at is None and expires_at > now:
            found[hashed[token_hash]] = DeviceScope(
                device, round_id, site_id, lab_id, bool(courier)
            )
    return found


def _tokens_stmt(pg: bool) -> Any:
    t = DeviceToken
    return select(
        t.token_hash,
        t.device,
        t.round_id,
        t.site_id,
        t.lab_id,
        t.courier,
        t.revoked_at,
        t.expires_at,
    ).where(any_of(pg, t.token_hash, "hashes"))


def revoke_device_token(session: Session, *, token_id: int, now: datetime) -> None:
    """Revoke a device token at once."""
    row = session.get(DeviceToken, token_id)
    if row is None:
        raise SetupError("token_unknown", f"no device token {token_id}")
    row.revoked_at = now
    session.flush()


# Six digits: typed on a courier's phone at the site's table. Guessing is slow (argon2) and
# every wrong try is kept as a rejected event that the round's rejected page shows.
PIN_DIGITS = 6
_pin_hasher = PasswordHasher()


def set_site_pin(session: Session, *, site: Site) -> str:
    """Give a site a new random handover PIN and return it (only its argon2 hash is stored)."""
    pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
    site.handover_pin_hash = _pin_hasher.hash(pin)
    session.flush()
    return pin


def pin_matches(pin_hash: str | None, pin: str | None) -> bool:
    """Tell whether a PIN matches a site's stored hash (no PIN set never matches)."""
    if not pin_hash or not pin:
        return False
    try:
        return bool(_pin_hasher.verify(pin_hash, pin))
    except (VerificationError, InvalidHashError):
        return False
