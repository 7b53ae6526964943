"""Decide one field event against a batch's in-memory projection state.

Each handler first checks everything (no change on a rejection), then returns the change as
a function, so the ledger applies it for a live event and a rebuild can refuse to apply it
when the stored status says the event was rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from tongxin.screening import checks, custody
from tongxin.screening.checks import Rejection, reject
from tongxin.screening.ledger_state import (
    BoxRow,
    Member,
    PersonInfo,
    RecallRow,
    RoundInfo,
    State,
    TubeRow,
)
from tongxin.screening.rules import SealedPooling, Zone, tube_capacity
from tongxin.screening.schemas import (
    AnyEvent,
    AnyRecallEvent,
    BoxReceived,
    BoxSealed,
    HandoverEvent,
    PersonByCode,
    RecallResampled,
    RecallResulted,
    ResultReported,
    SwabTaken,
    TubeClosed,
)
from tongxin.screening.setup import DeviceScope

_SITE_EVENTS = frozenset({"swab_taken", "tube_closed", "box_sealed"})
_LAB_EVENTS = frozenset({"box_received", "result_reported"})


@dataclass
class Outcome:
    """A decision: a rejection, or a change to apply (and a flag for a person to look at)."""

    round: RoundInfo | None
    rejection: Rejection | None = None
    flag: str | None = None
    apply: Callable[[], None] | None = None


class Decider:
    """Decide the events of one batch, in order, against one `State`."""

    def __init__(self, state: State, *, scope: DeviceScope | None, recall_due: timedelta):
        self.st = state
        # The scope of the event being decided: one call may carry several devices' batches,
        # so the ledger sets it before each event.
        self.scope = scope
        self.recall_due = recall_due
        self._zones: dict[tuple[int, int, str], str] = {}
        self._capacities: dict[tuple[int, str, bool], int] = {}
        self._stored_boxes: dict[int, BoxRow] | None = None

    def decide(self, ev: AnyEvent) -> Outcome:
        """Check one validated event; the outcome's `apply` makes its change."""
        rnd = self.st.rounds.get(ev.round)
        if rnd is None:
            return Outcome(None, reject("round_unknown", round=ev.round))
        kind: str = ev.type
        denied = self._scope_denies(rnd, kind)
        if denied:
            return Outcome(rnd, reject("scope_denied", detail=denied))
        handler = getattr(self, "_" + (kind if not kind.startswith("recall_") else "recall"))
        outcome: Outcome = handler(rnd, ev)
        return outcome

    def _scope_denies(self, rnd: RoundInfo, kind: str) -> str | None:
        scope = self.scope
        if scope is None:
            return None
        if scope.round_id != rnd.id:
            return f"round {rnd.code}"
        # A courier only carries: pick-ups into its custody are all it records.
        if scope.courier:
            return None if kind == "handover" else f"{kind} is not a courier's event"
        if kind in _SITE_EVENTS and scope.site_id is None:
            return f"{kind} needs a site token"
        if kind in _LAB_EVENTS and scope.lab_id is None:
            return f"{kind} needs a lab token"
        return None

    def _zone_of(self, rnd: RoundInfo, info: PersonInfo, default: str) -> str:
        # A person's zone is their nearest target area's; everyone in a building shares it,
        # so it is worked out once per building and round.
        key = (rnd.id, info.building_id, default)
        zone = self._zones.get(key)
        if zone is None:
            zone = next((rnd.zones[a] for a in info.ancestors if a in rnd.zones), default)
            self._zones[key] = zone
        return zone

    def _capacity(self, rnd: RoundInfo, zone: str, key_group: bool) -> int:
        key = (rnd.id, zone, key_group)
        capacity = self._capacities.get(key)
        if capacity is None:
            capacity = self._capacities[key] = tube_capacity(
                zone=Zone(zone),
                key_group=key_group,
                sealed_pooling=SealedPooling(rnd.sealed_pooling),
                controlled_pool=rnd.controlled_pool,
                precaution_pool=rnd.precaution_pool,
                key_group_pool=rnd.key_group_pool,
            )
        return capacity

    def _tube(
        self, rnd: RoundInfo, barcode: str, unknown: str = "tube_unknown"
    ) -> TubeRow | Rejection:
        tube = self.st.tubes.get(barcode)
        if tube is None:
            return reject(unknown, tube=barcode)
        if tube.round_id != rnd.id:
            return reject("tube_other_round", tube=barcode)
        return tube

    def _outside_site(self, tube: TubeRow) -> bool:
        if self.scope is None or tube.station_id is None:
            return False
        station = self.st.stations_by_id.get(tube.station_id)
        return station is None or station.site_id != self.scope.site_id

    def _swab_taken(self, rnd: RoundInfo, ev: SwabTaken) -> Outcome:
        station = self.st.stations.get(ev.station)
        if (
            station is None
            or station.round_id != rnd.id
            or (self.scope is not None and station.site_id != self.scope.site_id)
        ):
            return Outcome(rnd, reject("station_unknown", station=ev.station))
        tube = self._tube(rnd, ev.tube)
        if isinstance(tube, Rejection):
            return Outcome(rnd, tube)
        no_room = checks.swab_into_tube(
            barcode=tube.barcode,
            state=tube.state,
            close_reason=tube.close_reason,
            member_count=tube.member_count,
            capacity=tube.capacity,
        )
        if no_room:
            return Outcome(rnd, no_room)
        person = ev.person
        if isinstance(person, PersonByCode):
            info = self.st.by_code.get(person.resident_code)
            if info is None:
                return Outcome(rnd, reject("person_unknown", code=person.resident_code))
            key = f"r{info.id}"
        else:
            info = self.st.by_document.get((person.id_type, person.id_number))
            key = f"r{info.id}" if info else f"d{person.id_number}"
        zone = station.zone
        if info is not None:
            zone = self._zone_of(rnd, info, zone)
        expected = self._capacity(rnd, zone, info.key_group if info else False)
        misfit = checks.pooling_fits(
            expected=expected, tube_capacity=tube.capacity, barcode=tube.barcode
        )
        if misfit:
            return Outcome(rnd, misfit)
        household = info.household_id if info else None
        if tube.capacity == 0 and tube.member_count and tube.household_id != household:
            return Outcome(rnd, reject("tube_other_household", tube=tube.barcode))
        duplicate = (rnd.id, key) in self.st.sampled

        def apply() -> None:
            tube.member_count += 1
            tube.dirty = True
            if tube.state == "issued":
                tube.state = "open"
                tube.opened_at = ev.at
                tube.station_id = station.id
                tube.household_id = household
            if checks.tube_is_full(member_count=tube.member_count, capacity=tube.capacity):
                tube.state = "closed"
                tube.closed_at = ev.at
                tube.close_reason = None
            self.st.sampled.add((rnd.id, key))
            if tube.barcode in self.st.members:
                self.st.members[tube.barcode].append(
                    Member(tube.barcode, tube.member_count, info.id if info else None)
                )
            walk_in = None if info else person
            self.st.new_swabs.append(
                {
                    "event_id": ev.id,
                    "round_id": rnd.id,
                    "district_id": rnd.district_id,
                    "tube": tube.barcode,
                    "position": tube.member_count,
                    "resident_id": info.id if info else None,
                    "building_id": info.building_id if info else None,
                    "id_number": getattr(walk_in, "id_number", None),
                    "name": getattr(walk_in, "name", None),
                    "phone": getattr(walk_in, "phone", None),
                    "station_id": station.id,
                    "device": ev.device,
                    "sampler": ev.sampler,
                    "taken_at": ev.at,
                    "duplicate_person": duplicate,
                }
            )

        flag = checks.FLAG_DUPLICATE_PERSON if duplicate else None
        return Outcome(rnd, flag=flag, apply=apply)

    def _tube_closed(self, rnd: RoundInfo, ev: TubeClosed) -> Outcome:
        tube = self._tube(rnd, ev.tube)
        if isinstance(tube, Rejection):
            return Outcome(rnd, tube)
        if self._outside_site(tube):
            return Outcome(rnd, reject("scope_denied", detail=f"tube {tube.barcode}"))
        decision = checks.close_tube(
            barcode=tube.barcode,
            state=tube.state,
            close_reason=tube.close_reason,
            member_count=tube.member_count,
            capacity=tube.capacity,
            reason=ev.reason,
        )
        if decision.rejection:
            return Outcome(rnd, decision.rejection)

        def apply() -> None:
            if decision.close:
                tube.state = "closed"
                tube.closed_at = ev.at
                tube.close_reason = ev.reason
                tube.dirty = True

        return Outcome(rnd, apply=apply)

    def _box_sealed(self, rnd: RoundInfo, ev: BoxSealed) -> Outcome:
        key = (rnd.id, ev.box)
        if key in self.st.boxes:
            return Outcome(rnd, reject("box_sealed", box=ev.box))
        miscount = checks.box_counts(box=ev.box, count=ev.count, tubes=ev.tubes)
        if miscount:
            return Outcome(rnd, miscount)
        tubes: list[TubeRow] = []
        for barcode in ev.tubes:
            tube = self._tube(rnd, barcode)
            if isinstance(tube, Rejection):
                return Outcome(rnd, tube)
            if tube.state != "closed" or tube.box_key is not None or tube.box_id is not None:
                return Outcome(rnd, reject("box_tube_not_closed", tube=barcode, box=ev.box))
            if self._outside_site(tube):
                return Outcome(rnd, reject("scope_denied", detail=f"tube {barcode}"))
            tubes.append(tube)
        station = self.st.stations.get(ev.station) if ev.station else None

        def apply() -> None:
            self.st.boxes[key] = BoxRow(
                None,
                rnd.id,
                rnd.district_id,
                ev.box,
                ev.seal,
                ev.count,
                station.id if station else None,
                "sealed",
                ev.at,
                tubes=[t.barcode for t in tubes],
            )
            for t in tubes:
                t.state = "boxed"
                t.box_key = key
                t.dirty = True

        return Outcome(rnd, apply=apply)

    def _handover(self, rnd: RoundInfo, ev: HandoverEvent) -> Outcome:
        unconfirmed = checks.handover_confirmed(list(ev.confirmations))
        if unconfirmed:
            return Outcome(rnd, unconfirmed)
        boxes: list[BoxRow] = []
        for code in dict.fromkeys(ev.boxes):
            box = self.st.boxes.get((rnd.id, code))
            if box is None:
                return Outcome(rnd, reject("box_unknown", box=code))
            if box.state == "received":
                return Outcome(rnd, reject("box_already_received", box=code))
            boxes.append(box)
        refused = custody.check_handover(self.st, self.scope, rnd, ev, boxes)
        if refused:
            return Outcome(rnd, refused)

        def apply() -> None:
            for box in boxes:
                box.holder = ev.to_party
                if box.state == "sealed":
                    box.state = "handed_over"
                    box.handed_over_at = ev.at
                    box.dirty = True
            row = {
                "event_id": ev.id,
                "round_id": rnd.id,
                "from_party": ev.from_party,
                "to_party": ev.to_party,
                "box_count": len(boxes),
                "at": ev.at,
            }
            self.st.new_handovers.append((row, [(rnd.id, b.code) for b in boxes]))

        return Outcome(rnd, apply=apply)

    def _lab(self, code: str | None) -> int | Rejection | None:
        if code is None:
            return self.scope.lab_id if self.scope else None
        lab_id = self.st.labs.get(code)
        if lab_id is None:
            return reject("lab_unknown", lab=code)
        if self.scope is not None and lab_id != self.scope.lab_id:
            return reject("scope_denied", detail=f"lab {code}")
        return lab_id

    def _box_received(self, rnd: RoundInfo, ev: BoxReceived) -> Outcome:
        lab_id = self._lab(ev.lab)
        if isinstance(lab_id, Rejection):
            return Outcome(rnd, lab_id)
        box = self.st.boxes.get((rnd.id, ev.box))
        if box is None:
            return Outcome(rnd, reject("box_unknown", box=ev.box))
        if box.state == "sealed":
            return Outcome(rnd, reject("box_not_handed_over", box=ev.box))
        if box.state == "received":
            return Outcome(rnd, reject("box_already_received", box=ev.box))
        elsewhere = custody.received_elsewhere(self.st, box, lab_id)
        if elsewhere is not None:
            return Outcome(
                rnd, reject("handover_not_holder", box=ev.box, party=ev.lab, holder=elsewhere)
            )
        stray = next((b for b in ev.conditions if b not in box.tubes), None)
        if stray is not None:
            return Outcome(rnd, reject("box_tube_unknown", tube=stray, box=ev.box))

        def apply() -> None:
            box.state = "received"
            box.lab_id = lab_id
            box.received_at = ev.at
            box.dirty = True
            for barcode in box.tubes:
                tube = self.st.tubes[barcode]
                tube.state = "received"
                tube.received_at = ev.at
                tube.condition = ev.conditions.get(barcode, "good")
                tube.dirty = True

        return Outcome(rnd, apply=apply)

    def _receiving_lab(self, tube: TubeRow) -> int | None:
        # A box sealed or received earlier in this batch is only in memory; older ones were
        # loaded with the batch's result tubes.
        if tube.box_key is not None and tube.box_key in self.st.boxes:
            return self.st.boxes[tube.box_key].lab_id
        if tube.box_id is None:
            return None
        if self._stored_boxes is None:
            # Indexed once per batch: scanning every loaded box for each result was quadratic
            # in a batch that carries many receipts and many results. Only boxes loaded
            # before deciding have an id, so the index cannot go stale within the batch.
            self._stored_boxes = {b.id: b for b in self.st.boxes.values() if b.id is not None}
        box = self._stored_boxes.get(tube.box_id)
        return box.lab_id if box is not None else self.st.box_labs.get(tube.box_id)

    def _result_reported(self, rnd: RoundInfo, ev: ResultReported) -> Outcome:
        lab_id = self._lab(ev.lab)
        if isinstance(lab_id, Rejection):
            return Outcome(rnd, lab_id)
        tube = self._tube(rnd, ev.tube, unknown="result_tube_unknown")
        if isinstance(tube, Rejection):
            return Outcome(rnd, tube)
        if tube.result is not None:
            return Outcome(rnd, reject("result_exists", tube=tube.barcode))
        if tube.state != "received":
            return Outcome(rnd, reject("result_tube_not_received", tube=tube.barcode))
        received_by = self._receiving_lab(tube)
        if lab_id is not None and received_by is not None and received_by != lab_id:
            lab = ev.lab or f"#{lab_id}"
            return Outcome(rnd, reject("result_wrong_lab", tube=tube.barcode, lab=lab))

        def apply() -> None:
            tube.state = "resulted"
            tube.result = ev.result
            tube.ct = ev.ct
            tube.resulted_at = ev.at
            tube.dirty = True
            if ev.result == "negative":
                return
            for m in self.st.members.get(tube.barcode, []):
                self.st.recalls.setdefault(
                    (tube.barcode, m.position),
                    RecallRow(
                        None,
                        rnd.id,
                        rnd.district_id,
                        tube.barcode,
                        m.position,
                        m.resident_id,
                        ev.result,
                        "open",
                        ev.at,
                        ev.at + self.recall_due,
                    ),
                )

        return Outcome(rnd, apply=apply)

    def _recall(self, rnd: RoundInfo, ev: AnyRecallEvent) -> Outcome:
        barcode = ev.tube
        position = ev.position
        recall = self.st.recalls.get((barcode, position))
        if recall is None or recall.round_id != rnd.id:
            return Outcome(rnd, reject("recall_unknown", tube=barcode, position=position))
        kind: str = ev.type
        target, wrong = checks.recall_step(
            event_type=kind, state=recall.state, reason=recall.reason
        )
        if wrong:
            return Outcome(rnd, wrong)

        def apply() -> None:
            at = ev.at
            recall.state = target
            setattr(recall, f"{target}_at", at)
            if isinstance(ev, RecallResampled):
                recall.retest_barcode = ev.retest_tube
            if isinstance(ev, RecallResulted):
                recall.result = ev.result
            note = ev.note
            if note:
                recall.note = note
            recall.dirty = True

        return Outcome(rnd, apply=apply)
