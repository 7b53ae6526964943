"""Build a field device's context from its token scope (read-only; the request owns the session).

Bounded for a site of a few thousand people: one query per kind (round, zones, stations,
tube batches, tubes used at the site, boxes, residents), never one per row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tongxin.field import rules
from tongxin.field.schemas import (
    BoxContext,
    DeviceContext,
    ResidentContext,
    RoundContext,
    SiteContext,
    TubeBatchContext,
    TubeContext,
)
from tongxin.registry.models import Area, Resident
from tongxin.registry.queries import residents_under
from tongxin.screening.mismatches import mask_name
from tongxin.screening.models import (
    Box,
    Lab,
    Round,
    RoundArea,
    Site,
    Station,
    Swab,
    Tube,
    TubeBatch,
)
from tongxin.screening.setup import DeviceScope


def device_context(session: Session, *, scope: DeviceScope, now: datetime) -> DeviceContext:
    """Return what the device of this token needs to sample (or receive) offline."""
    rnd = session.get(Round, scope.round_id)
    if rnd is None:
        raise LookupError(f"no round with id {scope.round_id}")
    batches = [
        TubeBatchContext(first=first, last=last, capacity=capacity)
        for first, last, capacity in session.execute(
            select(TubeBatch.first_barcode, TubeBatch.last_barcode, TubeBatch.capacity)
            .where(TubeBatch.round_id == rnd.id)
            .order_by(TubeBatch.id)
        )
    ]
    site = session.get(Site, scope.site_id) if scope.site_id is not None else None
    lab = session.get(Lab, scope.lab_id) if scope.lab_id is not None else None
    site_context = None
    tubes: list[TubeContext] = []
    boxes: list[BoxContext] = []
    residents: list[ResidentContext] = []
    truncated = False
    if site is not None:
        stations = list(
            session.execute(
                select(Station.id, Station.code)
                .where(Station.site_id == site.id)
                .order_by(Station.id)
            ).tuples()
        )
        station_ids = [sid for sid, _code in stations]
        site_context = SiteContext(
            code=site.code,
            name=site.name,
            zone=site.zone,
            walk_in_capacity=_capacity(rnd, site.zone, key_group=False),
            stations=[code for _sid, code in stations],
        )
        tubes = [
            TubeContext(barcode=b, capacity=c, state=s, fill=n, reason=r)
            for b, c, s, n, r in sorted(session.execute(site_tubes(station_ids)).tuples())
        ]
        boxes = [
            BoxContext(code=code, state=state, count=count)
            for code, state, count in session.execute(
                select(Box.code, Box.state, Box.tube_count)
                .where(Box.round_id == rnd.id, Box.station_id.in_(station_ids))
                .order_by(Box.code)
            ).tuples()
        ]
        residents, truncated = _residents(session, rnd=rnd, site=site)
    return DeviceContext(
        device=scope.device,
        round=RoundContext(
            code=rnd.code,
            name=rnd.name,
            deadline=rnd.deadline,
            sealed_pooling=rnd.sealed_pooling,
            controlled_pool=rnd.controlled_pool,
            precaution_pool=rnd.precaution_pool,
            key_group_pool=rnd.key_group_pool,
        ),
        site=site_context,
        lab=lab.code if lab is not None else None,
        courier=scope.courier,
        tube_batches=batches,
        tubes=tubes,
        boxes=boxes,
        residents=residents,
        residents_truncated=truncated,
        generated_at=now,
    )


def site_tubes(station_ids: list[int]) -> Select[tuple[str, int, str, int, str | None]]:
    """Return the read of the tubes opened at these stations (by the station index).

    A station belongs to one round, so no round filter: that would invite the planner to
    walk every tube of the round instead.
    """
    # Unordered on purpose: ORDER BY barcode would tempt SQLite into walking the barcode
    # index; the caller sorts the few rows.
    return select(
        Tube.barcode, Tube.capacity, Tube.state, Tube.member_count, Tube.close_reason
    ).where(Tube.station_id.in_(station_ids))


def _capacity(rnd: Round, zone: str, *, key_group: bool) -> int:
    return rules.person_capacity(
        zone=zone,
        key_group=key_group,
        sealed_pooling=rnd.sealed_pooling,
        controlled_pool=rnd.controlled_pool,
        precaution_pool=rnd.precaution_pool,
        key_group_pool=rnd.key_group_pool,
    )


def _residents(session: Session, *, rnd: Round, site: Site) -> tuple[list[ResidentContext], bool]:
    area = session.get(Area, site.area_id)
    if area is None:
        return [], False
    zones: dict[int, str] = {
        area_id: zone
        for area_id, zone in session.execute(
            select(RoundArea.area_id, RoundArea.zone).where(RoundArea.round_id == rnd.id)
        ).tuples()
    }
    swabbed = (
        select(Swab.id)
        .where(Swab.round_id == rnd.id, Swab.resident_id == Resident.id)
        .exists()
        .label("sampled")
    )
    rows = session.execute(
        select(
            swabbed,
            Resident.resident_code,
            Resident.name,
            Resident.key_group,
            Resident.building_id,
            Resident.compound_id,
            Resident.community_id,
            Resident.street_id,
            Resident.district_id,
        )
        # Every status: the ledger takes a swab from anyone registered, away or not.
        .where(residents_under(area))
        .order_by(Resident.id)
        .limit(rules.MAX_CONTEXT_RESIDENTS + 1)
    ).all()
    truncated = len(rows) > rules.MAX_CONTEXT_RESIDENTS
    capacities: dict[tuple[str, bool], int] = {}
    out = []
    for sampled, code, name, key_group, *ancestors in rows[: rules.MAX_CONTEXT_RESIDENTS]:
        # Same order as the ledger (screening.decide): the nearest target area decides.
        zone = rules.nearest_zone(ancestors, zones, site.zone)
        key = (zone, bool(key_group))
        if key not in capacities:
            capacities[key] = _capacity(rnd, zone, key_group=bool(key_group))
        out.append(
            ResidentContext(
                code=code, name=mask_name(name), capacity=capacities[key], sampled=bool(sampled)
            )
        )
    return out, truncated
