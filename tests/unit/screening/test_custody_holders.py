"""Who holds a box, and which courier or lab handovers the ledger lets through (no database)."""

from datetime import UTC, datetime

from argon2 import PasswordHasher

from tongxin.screening.custody import check_handover, holder_of, received_elsewhere
from tongxin.screening.ledger_state import BoxRow, RoundInfo, SiteInfo, State, StationInfo
from tongxin.screening.schemas import HandoverEvent
from tongxin.screening.setup import DeviceScope

AT = datetime(2022, 9, 23, tzinfo=UTC)
RND = RoundInfo(1, "R1", 9, "single", 10, 20, 1, {})
PIN = "246810"


def state(pin: str | None = PIN) -> State:
    st = State()
    site = SiteInfo(5, 1, "S1", PasswordHasher().hash(pin) if pin else None)
    st.sites[(1, "S1")] = site
    st.sites_by_id[5] = site
    st.stations_by_id[7] = StationInfo(7, "R1-S1-1", 5, 1, "controlled")
    st.boxes[(1, "B1")] = BoxRow(11, 1, 9, "B1", "SEAL", 1, 7, "sealed", AT)
    st.couriers.add((1, "courier-1"))
    st.labs = {"LAB1": 3, "LAB2": 4}
    return st


def handover(frm: str, to: str, pin: str | None = None) -> HandoverEvent:
    return HandoverEvent.model_validate(
        {"id": "e1", "device": "d", "seq": 1, "at": AT, "round": "R1", "type": "handover",
         "boxes": ["B1"], "from": frm, "to": to, "confirmations": ["from", "to"], "pin": pin}
    )  # fmt: skip


COURIER = DeviceScope("courier-1", 1, None, None, courier=True)
LAB1 = DeviceScope("lab-1", 1, None, 3)


def test_a_sealed_box_is_held_by_its_site_then_by_the_last_handovers_receiver():
    st = state()
    box = st.boxes[(1, "B1")]

    assert holder_of(st, box) == "S1"
    box.holder = "courier-1"
    assert holder_of(st, box) == "courier-1"


def test_a_courier_pick_up_needs_the_sites_pin_and_the_site_holding_the_box():
    st = state()
    boxes = [st.boxes[(1, "B1")]]

    assert check_handover(st, COURIER, RND, handover("S1", "courier-1", PIN), boxes) is None
    wrong = check_handover(st, COURIER, RND, handover("S1", "courier-1", "000000"), boxes)
    missing = check_handover(st, COURIER, RND, handover("S1", "courier-1"), boxes)
    other = check_handover(st, COURIER, RND, handover("S1", "courier-2", PIN), boxes)
    unknown = check_handover(st, COURIER, RND, handover("S9", "courier-1", PIN), boxes)
    unset = check_handover(state(None), COURIER, RND, handover("S1", "courier-1", PIN), boxes)
    assert wrong is not None and wrong.code == "handover_pin_wrong"
    assert missing is not None and missing.code == "handover_pin_wrong"
    assert other is not None and other.code == "scope_denied"
    assert unknown is not None and unknown.code == "handover_party_unknown"
    assert unset is not None and unset.code == "handover_pin_unset"
    boxes[0].holder = "courier-1"
    again = check_handover(st, COURIER, RND, handover("S1", "courier-1", PIN), boxes)
    assert again is not None and again.code == "handover_not_holder"


def test_a_lab_takes_over_only_for_itself_from_a_courier_holding_the_box():
    st = state()
    box = st.boxes[(1, "B1")]
    box.holder = "courier-1"

    assert check_handover(st, LAB1, RND, handover("courier-1", "LAB1"), [box]) is None
    other_lab = check_handover(st, LAB1, RND, handover("courier-1", "LAB2"), [box])
    stranger = check_handover(st, LAB1, RND, handover("courier-9", "LAB1"), [box])
    assert other_lab is not None and other_lab.code == "scope_denied"
    assert stranger is not None and stranger.code == "handover_party_unknown"
    box.holder = None  # still at its site: the courier never picked it up
    at_site = check_handover(st, LAB1, RND, handover("courier-1", "LAB1"), [box])
    assert at_site is not None and at_site.code == "handover_not_holder"


def test_site_devices_and_trusted_callers_keep_the_claimed_confirmations():
    st = state()
    boxes = [st.boxes[(1, "B1")]]
    site = DeviceScope("pad-1", 1, 5, None)

    assert check_handover(st, site, RND, handover("S1", "anyone"), boxes) is None
    assert check_handover(st, None, RND, handover("S9", "anyone"), boxes) is None


def test_a_box_handed_to_one_lab_is_received_by_that_lab_only():
    st = state()
    box = st.boxes[(1, "B1")]
    box.holder = "LAB1"

    assert received_elsewhere(st, box, 3) is None
    assert received_elsewhere(st, box, 4) == "LAB1"
    box.holder = "courier-7"  # a courier, not a lab: any lab of the round may receive it
    assert received_elsewhere(st, box, 4) is None
