"""Who holds a box, and whether a courier's or a lab's device may record a handover.

A box is held by the site that sealed it until its first handover, then by the `to` of its
last handover. The two-party rules (decision 0009):

- a courier's device records a pick-up from a site into its own custody; the site confirms
  by typing its handover PIN on that device, and only a matching PIN counts as the site's
  confirmation;
- a lab's device records the delivery from a courier (whose code it scanned) to itself.

Both may hand over only boxes the giving party holds. Site devices and trusted callers
(`tongxin screening ingest`, a rebuild) keep the older rule: both confirmations as claimed.
"""

from __future__ import annotations

from tongxin.screening.checks import Rejection, reject
from tongxin.screening.ledger_state import BoxRow, RoundInfo, SiteInfo, State
from tongxin.screening.schemas import HandoverEvent
from tongxin.screening.setup import DeviceScope, pin_matches


def site_of_box(st: State, box: BoxRow) -> SiteInfo | None:
    """Return the site that packed a box: its station's, else its tubes' station's."""
    station = st.stations_by_id.get(box.station_id) if box.station_id is not None else None
    if station is None:
        for barcode in box.tubes:
            tube = st.tubes.get(barcode)
            if tube is not None and tube.station_id in st.stations_by_id:
                station = st.stations_by_id[tube.station_id]
                break
    return st.sites_by_id.get(station.site_id) if station is not None else None


def holder_of(st: State, box: BoxRow) -> str | None:
    """Return who holds a box: the last handover's `to`, else the code of its site."""
    if box.holder is not None:
        return box.holder
    site = site_of_box(st, box)
    return site.code if site is not None else None


def check_handover(
    st: State, scope: DeviceScope | None, rnd: RoundInfo, ev: HandoverEvent, boxes: list[BoxRow]
) -> Rejection | None:
    """Check a courier's pick-up or a lab's delivery; other senders pass unchanged."""
    if scope is None or (not scope.courier and scope.lab_id is None):
        return None
    if scope.courier:
        if ev.to_party != scope.device:
            return reject(
                "scope_denied",
                detail=f"a courier takes boxes into its own custody, not {ev.to_party}",
            )
        site = st.sites.get((rnd.id, ev.from_party))
        if site is None:
            return reject(
                "handover_party_unknown", party=ev.from_party, kind_zh="采样点", kind="site"
            )
        if site.pin_hash is None:
            return reject("handover_pin_unset", site=site.code)
        if not pin_matches(site.pin_hash, ev.pin):
            return reject("handover_pin_wrong", site=site.code)
    else:
        if st.labs.get(ev.to_party) != scope.lab_id:
            return reject("scope_denied", detail=f"lab {ev.to_party}")
        if (rnd.id, ev.from_party) not in st.couriers:
            return reject(
                "handover_party_unknown", party=ev.from_party, kind_zh="转运员", kind="courier"
            )
    for box in boxes:
        holder = holder_of(st, box)
        if holder != ev.from_party:
            return reject(
                "handover_not_holder", box=box.code, party=ev.from_party, holder=holder or "-"
            )
    return None


def received_elsewhere(st: State, box: BoxRow, lab_id: int | None) -> str | None:
    """Return the lab holding a box when a different lab records its receipt, else None."""
    holder = box.holder
    if lab_id is None or holder is None or holder not in st.labs:
        return None
    return holder if st.labs[holder] != lab_id else None
