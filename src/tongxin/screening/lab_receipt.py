"""What a lab's and a courier's devices read: boxes handed to a lab, boxes a courier holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from tongxin.screening.models import Box, Handover, HandoverBox, Lab, Tube


def _holders(session: Session, *, round_id: int, box_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Return box id -> (from, to) of its last handover."""
    last: dict[int, tuple[str, str]] = {}
    if not box_ids:
        return last
    for box_id, from_party, to_party in session.execute(
        select(HandoverBox.box_id, Handover.from_party, Handover.to_party)
        .join(Handover, Handover.id == HandoverBox.handover_id)
        .where(Handover.round_id == round_id, HandoverBox.box_id.in_(box_ids))
        .order_by(Handover.id)
    ).tuples():
        last[box_id] = (from_party, to_party)
    return last


def _tubes_of(session: Session, box_ids: list[int]) -> dict[int, list[Tube]]:
    out: dict[int, list[Tube]] = {b: [] for b in box_ids}
    if box_ids:
        for tube in session.scalars(
            select(Tube).where(Tube.box_id.in_(box_ids)).order_by(Tube.barcode)
        ):
            assert tube.box_id is not None
            out[tube.box_id].append(tube)
    return out


def _handed_to(round_id: int, party: str | None) -> Select[tuple[int]]:
    """The ids of the round's boxes ever handed over to this party."""
    return (
        select(HandoverBox.box_id)
        .join(Handover, Handover.id == HandoverBox.handover_id)
        .where(Handover.round_id == round_id, Handover.to_party == party)
    )


def lab_boxes(session: Session, *, round_id: int, lab_id: int) -> list[dict[str, Any]]:
    """List the boxes of a round handed over to a lab (or received by it), with their tubes.

    `missing` names the tubes of a received box marked missing, so the lab's screen shows
    the tubes expected but not there; `expected` is the count written on the box.
    """
    lab_code = session.scalar(select(Lab.code).where(Lab.id == lab_id))
    handed = _handed_to(round_id, lab_code)
    boxes = list(
        session.scalars(
            select(Box)
            .where(Box.round_id == round_id, or_(Box.id.in_(handed), Box.lab_id == lab_id))
            .order_by(Box.code)
        )
    )
    ids = [b.id for b in boxes]
    last = _holders(session, round_id=round_id, box_ids=ids)
    tubes = _tubes_of(session, ids)
    out = []
    for box in boxes:
        # Another lab's receipt of a box once handed here is not this lab's to show.
        if box.lab_id is not None and box.lab_id != lab_id:
            continue
        rows = tubes[box.id]
        out.append(
            {
                "box": box.code,
                "state": box.state,
                "from": last.get(box.id, ("", ""))[0] or None,
                "handed_over_at": box.handed_over_at,
                "received_at": box.received_at,
                "expected": box.tube_count,
                "tubes": [
                    {"barcode": t.barcode, "state": t.state, "condition": t.condition} for t in rows
                ],
                "missing": [t.barcode for t in rows if t.condition == "missing"],
            }
        )
    return out


def courier_boxes(session: Session, *, round_id: int, courier: str) -> list[dict[str, Any]]:
    """List the boxes a courier holds now (its pick-ups not yet handed on), with tube counts."""
    picked = _handed_to(round_id, courier)
    boxes = list(
        session.scalars(
            select(Box)
            .where(Box.round_id == round_id, Box.id.in_(picked), Box.state == "handed_over")
            .order_by(Box.code)
        )
    )
    last = _holders(session, round_id=round_id, box_ids=[b.id for b in boxes])
    return [
        {
            "box": b.code,
            "from": last[b.id][0],
            "tubes": b.tube_count,
            "handed_over_at": b.handed_over_at,
        }
        for b in boxes
        if b.id in last and last[b.id][1] == courier
    ]
