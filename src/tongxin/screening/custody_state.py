"""Load what handovers and receipts are decided on: sites, couriers, labs, who holds a box.

Separate from `projections.load_state` because only batches with handovers or receipts
need it; the capture hot path (swabs) never runs these queries.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from tongxin.screening.ledger_state import SiteInfo, State, Wants
from tongxin.screening.models import DeviceToken, Handover, HandoverBox, Lab, Site
from tongxin.screening.projections import one_of


def load_custody(conn: Connection, st: State, wants: Wants) -> None:
    """Add to `st` the sites, couriers and labs the batch's handovers name, and box holders."""
    round_ids = [r.id for r in st.rounds.values()]
    if not round_ids or not (wants.parties or wants.received_boxes):
        return
    moved = [b for b in st.boxes.values() if b.id is not None and b.state != "sealed"]
    by_id = {b.id: b for b in moved}
    # In handover order: the last one's `to` holds the box.
    for box_id, to_party in conn.execute(
        select(HandoverBox.box_id, Handover.to_party)
        .join(Handover, Handover.id == HandoverBox.handover_id)
        .where(one_of(conn, HandoverBox.box_id, list(by_id)))
        .order_by(Handover.id)
    ).tuples():
        by_id[box_id].holder = to_party
    names = wants.parties | {b.holder for b in moved if b.holder}
    site_ids = {s.site_id for s in st.stations_by_id.values()}
    for sid, rid, code, pin_hash in conn.execute(
        select(Site.id, Site.round_id, Site.code, Site.handover_pin_hash).where(
            one_of(conn, Site.round_id, round_ids),
            one_of(conn, Site.code, names) | one_of(conn, Site.id, site_ids),
        )
    ).tuples():
        site = SiteInfo(sid, rid, code, pin_hash)
        st.sites[(rid, code)] = site
        st.sites_by_id[sid] = site
    for rid, device in conn.execute(
        select(DeviceToken.round_id, DeviceToken.device).where(
            DeviceToken.courier.is_(True),
            DeviceToken.revoked_at.is_(None),
            one_of(conn, DeviceToken.round_id, round_ids),
            one_of(conn, DeviceToken.device, names),
        )
    ).tuples():
        st.couriers.add((rid, device))
    unknown_labs = names - set(st.labs)
    if unknown_labs:
        for code, lab_id in conn.execute(
            select(Lab.code, Lab.id).where(one_of(conn, Lab.code, unknown_labs))
        ).tuples():
            st.labs[code] = lab_id
