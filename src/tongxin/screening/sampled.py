"""People sampled = tube members: persons swabbed twice, and tubes that miscount their swabs.

People sampled counts distinct persons (a resident by id, a walk-in by ID number), so it
falls short of the summed tube members by exactly the extra swabs of duplicate persons.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongxin.registry.models import Resident
from tongxin.screening.mismatches import CHUNK, Mismatch, Places, chunks, entry, person_ref
from tongxin.screening.models import Swab, Tube


@dataclass(frozen=True)
class Duplicate:
    resident_id: int | None
    id_number: str | None
    swabs: list[tuple[str, int, str | None, str | None]]  # barcode, station, code, name


def duplicate_people(session: Session, round_id: int) -> list[Duplicate]:
    """Return every person with more than one swab in the round (one GROUP BY per key)."""
    by_resident = select(Swab.resident_id).where(
        Swab.round_id == round_id, Swab.resident_id.is_not(None)
    )
    resident_ids = [
        int(r or 0)
        for r in session.scalars(by_resident.group_by(Swab.resident_id).having(func.count() > 1))
    ]
    # Walk-ins are one person per ID number; the numbers are sealed, so group by their hash.
    walk_in_hashes = [
        str(n)
        for n in session.scalars(
            select(Swab.id_number_hash)
            .where(
                Swab.round_id == round_id,
                Swab.resident_id.is_(None),
                Swab.id_number_hash.is_not(None),
            )
            .group_by(Swab.id_number_hash)
            .having(func.count() > 1)
        )
    ]
    found: list[Duplicate] = []
    keyed: dict[int | str, list[tuple[str, int, str | None, str | None]]] = defaultdict(list)
    details = (
        select(
            Swab.resident_id,
            Swab.id_number,
            Tube.barcode,
            Swab.station_id,
            Resident.resident_code,
            func.coalesce(Resident.name, Swab.name),
        )
        .join(Tube, Tube.id == Swab.tube_id)
        .outerjoin(Resident, Resident.id == Swab.resident_id)
    )
    for chunk in chunks(resident_ids):
        for rid, _num, barcode, station, code, name in session.execute(
            details.where(Swab.round_id == round_id, Swab.resident_id.in_(chunk)).order_by(
                Swab.taken_at, Swab.id
            )
        ):
            keyed[int(rid)].append((str(barcode), int(station), code, name))
    number_of: dict[str, str] = {}
    for start in range(0, len(walk_in_hashes), CHUNK):
        hashes = walk_in_hashes[start : start + CHUNK]
        for _rid, num, hashed, barcode, station, code, name in session.execute(
            details.with_only_columns(
                Swab.resident_id,
                Swab.id_number,
                Swab.id_number_hash,
                Tube.barcode,
                Swab.station_id,
                Resident.resident_code,
                func.coalesce(Resident.name, Swab.name),
            )
            .where(
                Swab.round_id == round_id,
                Swab.resident_id.is_(None),
                Swab.id_number_hash.in_(hashes),
            )
            .order_by(Swab.taken_at, Swab.id)
        ):
            number_of[str(hashed)] = str(num)
            keyed[str(hashed)].append((str(barcode), int(station), code, name))
    for rid in resident_ids:
        found.append(Duplicate(rid, None, keyed[rid]))
    for hashed in walk_in_hashes:
        found.append(Duplicate(None, number_of.get(hashed), keyed[hashed]))
    return found


def duplicate_mismatches(
    session: Session, places: Places, duplicates: list[Duplicate]
) -> list[Mismatch]:
    out = []
    for d in duplicates:
        _barcode, station, code, name = d.swabs[0]
        out.append(
            entry(
                "duplicate_person",
                places.of(station),
                tubes=[s[0] for s in d.swabs],
                people=[person_ref(code, name, d.id_number)],
                detail={"stations": sorted({places.of(s[1])["station"] or "" for s in d.swabs})},
                n=len(d.swabs),
                extra=len(d.swabs) - 1,
            )
        )
    return out


def members_differ(session: Session, places: Places, round_id: int) -> list[Mismatch]:
    """Name the tubes whose member count disagrees with their swabs (only run when totals do)."""
    counted = (
        select(Swab.tube_id, func.count().label("n"))
        .where(Swab.round_id == round_id)
        .group_by(Swab.tube_id)
        .subquery()
    )
    rows = list(
        session.execute(
            select(Tube.barcode, Tube.station_id, Tube.member_count, counted.c.n)
            .outerjoin(counted, counted.c.tube_id == Tube.id)
            .where(
                Tube.round_id == round_id,
                Tube.member_count != func.coalesce(counted.c.n, 0),
            )
            .order_by(Tube.barcode)
        )
    )
    if not rows:
        return []
    return [
        entry(
            "members_differ",
            places.of(rows[0][1]),
            tubes=[r[0] for r in rows],
            detail={"counts": {r[0]: {"members": r[2], "swabs": r[3] or 0} for r in rows}},
            n=len(rows),
        )
    ]
