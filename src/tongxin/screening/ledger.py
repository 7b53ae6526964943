"""The custody ledger: store each field event exactly once, decide it, update the projections.

`ingest_events` is the one way in for devices (API), dump files (CLI) and trusted imports.
Per batch it runs a fixed handful of statements whatever the batch size: one `IN` query for
known ids, one per kind of projection row the batch names, one executemany insert of the
events, and one executemany per kind of projection change. Rejected events are stored too:
nothing a device sends is dropped. The caller owns the transaction.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tongxin.privacy.service import key_ring, open_payload, seal_event_payloads
from tongxin.screening.bulk import collector_paused, insert_rows
from tongxin.screening.checks import DEVICE_BOUND_CODES, Rejection, reject
from tongxin.screening.custody_state import load_custody
from tongxin.screening.decide import Decider, Outcome
from tongxin.screening.ledger_state import Wants
from tongxin.screening.models import Box, Event, Handover, HandoverBox, Recall, Swab, Tube
from tongxin.screening.projection_writes import write_state
from tongxin.screening.projections import (
    any_of,
    chunks,
    listed,
    load_state,
    prepared,
    table_of,
    take_writer_lock,
)
from tongxin.screening.schemas import EVENT_ADAPTER, PersonByDocument
from tongxin.screening.setup import DeviceScope

MAX_SEQ = 2**31 - 1
REPLAY_CHUNK = 1000


class LedgerError(ValueError):
    """A ledger request that cannot be carried out; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Unparsed:
    """A piece of input that is not even a JSON object, e.g. a broken line of a dump file."""

    text: str
    where: str
    problem: str = "not JSON"


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999, which a double cannot hold
        raise ValueError(f"number out of range: {text}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(data: str | bytes) -> Any:
    """Parse field input as strict JSON: NaN, Infinity and numbers beyond a double refused.

    Python's parser accepts them, but no JSON column can store them (PostgreSQL refuses the
    whole batch) and a stored payload must come back exactly as sent; so input holding one
    is not JSON, like any other broken input.
    """
    return json.loads(data, parse_float=_finite, parse_constant=_no_constant)


# JSON escapes that decode to text no database column can hold: NUL (PostgreSQL text refuses
# it) and UTF-16 surrogates (a lone one cannot be encoded). Valid pairs match too and pass
# the per-event check below.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _unstorable(raw: Any) -> str | None:
    text = json.dumps(raw, ensure_ascii=False)
    if "\\u0000" in text:
        return "NUL character (U+0000) in a field"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "unpaired surrogate code point in a field"
    return None


def quarantine_unstorable(body: bytes, events: list[Any], where: str) -> list[Any]:
    """Turn each event holding text no database can store into an `Unparsed` item.

    Such an event would fail the whole batch's insert; as an `Unparsed` it is stored as
    rejected (`malformed`, naming the problem) like any broken input, with its text kept
    escaped. Only bodies whose bytes hold a suspect escape are looked at event by event.
    """
    if not _SUSPECT_ESCAPE.search(body):
        return events
    out: list[Any] = []
    for number, raw in enumerate(events, start=1):
        problem = _unstorable(raw)
        if problem is None:
            out.append(raw)
        else:
            text = json.dumps(raw, ensure_ascii=True)
            out.append(Unparsed(text, f"{where} event {number}", problem))
    return out


@dataclass
class _Incoming:
    raw: Any
    event: Any | None
    id: str
    answer_id: str | None
    detail: str | None = None


def _usable_id(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 36 else None


def _parse(raw: Any) -> _Incoming:
    if isinstance(raw, Unparsed):
        detail = f"{raw.where}: {raw.problem}"
        return _Incoming(raw, None, f"srv-{uuid.uuid4().hex}", None, detail)
    try:
        ev = EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        if loc and isinstance(raw, Mapping) and loc[0] == raw.get("type"):
            loc = loc[1:]  # the union tag pydantic puts first is the type the event named
        detail = f"{'.'.join(loc) or 'event'}: {err['msg']}"
        rid = _usable_id(raw.get("id")) if isinstance(raw, Mapping) else None
        return _Incoming(raw, None, rid or f"srv-{uuid.uuid4().hex}", rid, detail)
    if ev.seq > MAX_SEQ:
        return _Incoming(raw, None, ev.id, ev.id, f"seq: greater than {MAX_SEQ}")
    return _Incoming(raw, ev, ev.id, ev.id)


def _wants(events: Iterable[Any]) -> Wants:
    w = Wants()
    for ev in events:
        w.rounds.add(ev.round)
        kind = ev.type
        if kind == "swab_taken":
            w.stations.add(ev.station)
            w.tubes.add(ev.tube)
            if isinstance(ev.person, PersonByDocument):
                w.id_numbers.add((ev.person.id_type, ev.person.id_number))
            else:
                w.resident_codes.add(ev.person.resident_code)
        elif kind == "tube_closed":
            w.tubes.add(ev.tube)
        elif kind == "box_sealed":
            w.boxes.add(ev.box)
            w.tubes.update(ev.tubes)
            if ev.station:
                w.stations.add(ev.station)
        elif kind == "handover":
            w.boxes.update(ev.boxes)
            # The boxes' tubes tell which site packed them (a box may name no station).
            w.received_boxes.update(ev.boxes)
            w.parties.update((ev.from_party, ev.to_party))
        elif kind == "box_received":
            w.boxes.add(ev.box)
            w.received_boxes.add(ev.box)
            w.labs.add(ev.lab)
        elif kind == "result_reported":
            w.tubes.add(ev.tube)
            w.result_tubes.add(ev.tube)
            if ev.result != "negative":
                w.member_tubes.add(ev.tube)
            if ev.lab:
                w.labs.add(ev.lab)
        else:
            w.tubes.add(ev.tube)
            w.recall_tubes.add(ev.tube)
    return w


def _at_of(raw: Any, fallback: datetime) -> datetime:
    value = raw.get("at") if isinstance(raw, Mapping) else None
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        if at.tzinfo is not None:
            return at
    return fallback


# A site's handover PIN is checked, never stored: the ledger keeps this in its place.
PIN_KEPT_AS = "******"


def _without_pin(raw: Any) -> Any:
    if isinstance(raw, Mapping) and raw.get("type") == "handover" and "pin" in raw:
        return {**raw, "pin": PIN_KEPT_AS}
    return raw


def _event_row(
    item: _Incoming, outcome: Outcome | None, rejection: Rejection | None, received_at: datetime
) -> dict[str, Any]:
    rnd = outcome.round if outcome else None
    ev = item.event
    if ev is not None:
        device, seq, kind, at = ev.device, ev.seq, ev.type, ev.at
        payload = _without_pin(item.raw)
    else:
        raw = item.raw if isinstance(item.raw, Mapping) else {}
        device = str(raw.get("device") or "")[:64]
        seq_value = raw.get("seq")
        seq = seq_value if isinstance(seq_value, int) and 0 <= seq_value <= MAX_SEQ else 0
        kind = str(raw.get("type") or "")[:32]
        at = _at_of(raw, received_at)
        if isinstance(item.raw, Unparsed):
            payload = {"unparsed": item.raw.text[:4000], "where": item.raw.where}
        else:
            payload = (
                dict(_without_pin(item.raw)) if isinstance(item.raw, Mapping) else {"raw": item.raw}
            )
    return {
        "id": item.id,
        "device": device,
        "seq": seq,
        "type": kind,
        "round_id": rnd.id if rnd else None,
        "district_id": rnd.district_id if rnd else None,
        "at": at,
        "received_at": received_at,
        "status": "rejected" if rejection else "accepted",
        "flag": outcome.flag if outcome and not rejection else None,
        "code": rejection.code if rejection else None,
        "message_zh": rejection.message_zh[:300] if rejection else None,
        "message_en": rejection.message_en[:300] if rejection else None,
        "payload": payload,
    }


@dataclass(slots=True)
class Answer:
    """The ledger's answer to one event (the wire form is `schemas.EventAnswer`).

    A plain slotted class: the capture path builds one per event, and a validated pydantic
    model per event cost more than deciding the event.
    """

    id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    code: str | None = None
    message: str | None = None
    message_en: str | None = None
    flag: str | None = None

    def wire(self) -> dict[str, Any]:
        """Return the answer as the JSON object `schemas.EventAnswer` describes."""
        return {
            "id": self.id,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "message_en": self.message_en,
            "flag": self.flag,
        }


def _recall_due(recall_due: timedelta | None) -> timedelta:
    if recall_due is not None:
        return recall_due
    from tongxin.settings import get_settings

    return timedelta(hours=get_settings().recall_due_hours)


@dataclass(frozen=True)
class Batch:
    """Events that came in together under one scope (`None`: a trusted caller)."""

    events: Sequence[Mapping[str, Any] | Unparsed]
    scope: DeviceScope | None = None


def ingest_events(
    session: Session,
    *,
    events: Sequence[Mapping[str, Any] | Unparsed],
    received_at: datetime,
    scope: DeviceScope | None = None,
    recall_due: timedelta | None = None,
) -> list[Answer]:
    """Store a batch of field events once each, decide them in order, update projections.

    Answers come back in the order sent: `duplicate` for an id already stored (or repeated
    in the batch), `rejected` with a stable code for a stored event that broke a rule, else
    `accepted`. `scope=None` is a trusted caller; a device scope limits the batch to its
    round and its site or lab. `recall_due` defaults to the `recall_due_hours` setting.
    """
    return ingest_batches(
        session, batches=[Batch(events, scope)], received_at=received_at, recall_due=recall_due
    )[0]


def ingest_batches(
    session: Session,
    *,
    batches: Sequence[Batch],
    received_at: datetime,
    recall_due: timedelta | None = None,
) -> list[list[Answer]]:
    """Ingest several batches, each under its own scope, in one pass: answers per batch.

    The capture endpoint hands concurrent requests over as one call, so a burst of
    one-event requests shares the loading, the statements and the commit of one batch.
    Batches are decided in the order given, exactly as if they had come one after another.
    """
    if not any(b.events for b in batches):
        return [[] for _b in batches]
    with collector_paused():
        return _ingest_batches(session, batches, received_at, recall_due)


def _ingest_batches(
    session: Session,
    batches: Sequence[Batch],
    received_at: datetime,
    recall_due: timedelta | None,
) -> list[list[Answer]]:
    conn = session.connection()
    take_writer_lock(conn)
    items = [(_parse(raw), b.scope) for b in batches for raw in b.events]
    known: set[str] = set()
    ids = list({i.id for i, _s in items if i.answer_id is not None})
    stmt = prepared(
        conn, "known-events", lambda pg: select(Event.id).where(any_of(pg, Event.id, "ids"))
    )
    for part in chunks(ids):
        known.update(conn.execute(stmt, {"ids": listed(conn, part)}).scalars())
    answers: list[Answer | None] = []
    fresh: list[tuple[int, _Incoming, DeviceScope | None]] = []
    for index, (item, scope) in enumerate(items):
        if item.id in known:
            answers.append(Answer(item.answer_id, "duplicate"))
            continue
        known.add(item.id)
        answers.append(None)
        fresh.append((index, item, scope))
    if fresh:
        _decide_and_store(conn, fresh, answers, received_at, _recall_due(recall_due))
    out: list[list[Answer]] = []
    start = 0
    for b in batches:
        out.append(cast(list[Answer], answers[start : start + len(b.events)]))
        start += len(b.events)
    return out


def _decide_and_store(
    conn: Connection,
    fresh: list[tuple[int, _Incoming, DeviceScope | None]],
    answers: list[Answer | None],
    received_at: datetime,
    recall_due: timedelta,
) -> None:
    wants = _wants(i.event for _n, i, _s in fresh if i.event is not None)
    wants.rounds.update(
        i.raw["round"]
        for _n, i, _s in fresh
        if i.event is None and isinstance(i.raw, Mapping) and isinstance(i.raw.get("round"), str)
    )
    scoped_rounds = {s.round_id for _n, _i, s in fresh if s is not None}
    state = load_state(conn, wants, round_ids=sorted(scoped_rounds))
    load_custody(conn, state, wants)
    decider = Decider(state, scope=None, recall_due=recall_due)
    rows = []
    for index, item, scope in fresh:
        outcome: Outcome | None = None
        if item.event is None:
            rejection: Rejection | None = reject("malformed", detail=item.detail)
            code = item.raw.get("round") if isinstance(item.raw, Mapping) else None
            rnd = state.rounds.get(code) if isinstance(code, str) else None
            outcome = Outcome(rnd)
        else:
            decider.scope = scope
            outcome = decider.decide(item.event)
            rejection = outcome.rejection
            if rejection is None and outcome.apply is not None:
                outcome.apply()
        rows.append(_event_row(item, outcome, rejection, received_at))
        if rejection is not None:
            answers[index] = Answer(
                item.answer_id,
                "rejected",
                rejection.code,
                rejection.message_zh,
                rejection.message_en,
            )
        else:
            answers[index] = Answer(item.answer_id, "accepted", flag=outcome.flag)
    seal_event_payloads(conn, rows)
    insert_rows(conn, table_of(Event), rows)
    write_state(conn, state)


def event_by_id(session: Session, *, event_id: str) -> Event | None:
    """Return the stored event with this client id, or None."""
    return session.scalar(select(Event).where(Event.id == event_id))


def list_rejected(
    session: Session, *, round_id: int | None, unresolved_only: bool = True
) -> list[Event]:
    """List a round's rejected events in arrival order (`round_id=None`: those with no round)."""
    stmt = select(Event).where(Event.status == "rejected")
    stmt = stmt.where(Event.round_id.is_(None) if round_id is None else Event.round_id == round_id)
    if unresolved_only:
        stmt = stmt.where(Event.resolved_at.is_(None))
    return list(session.scalars(stmt.order_by(Event.number)))


def resolve_event(
    session: Session, *, event_id: str, by: str, resolution: str, now: datetime
) -> Event:
    """Mark a rejected (or flagged) event as resolved by a person; it is kept, never deleted."""
    event = event_by_id(session, event_id=event_id)
    if event is None:
        raise LedgerError("event_unknown", f"no event {event_id!r}")
    if event.status != "rejected" and event.flag is None:
        raise LedgerError("event_not_rejected", f"event {event_id} was accepted without a flag")
    if event.resolved_at is not None:
        raise LedgerError("event_resolved", f"event {event_id} was resolved already")
    event.resolved_at = now
    event.resolved_by = by[:64]
    event.resolution = resolution[:300]
    session.flush()
    return event


# Resubmissions get ids derived from the original, so resubmitting twice is a duplicate.
_RESUBMIT_NAMESPACE = uuid.UUID("5b1f0e36-6a52-4e0e-9a37-1f2b7d0c4e11")


def resubmit_event(session: Session, *, event_id: str, by: str, now: datetime) -> Answer:
    """Decide a rejected event again, as it stands now (e.g. after the person was registered).

    The rejected event is kept as it was; its payload goes through the ledger as a new
    event (id derived from the original, so a second resubmission answers `duplicate`),
    arriving now, with every rule applied. The original is marked resolved and names the new
    event and its outcome; if the new one is rejected again it waits in the queue in turn.
    """
    event = event_by_id(session, event_id=event_id)
    if event is None:
        raise LedgerError("event_unknown", f"no event {event_id!r}")
    if event.status != "rejected":
        raise LedgerError("event_not_rejected", f"event {event_id} was accepted")
    if event.resolved_at is not None:
        raise LedgerError("event_resolved", f"event {event_id} was resolved already")
    payload = event.payload
    if not isinstance(payload, Mapping) or "unparsed" in payload or "type" not in payload:
        raise LedgerError(
            "event_not_resubmittable", f"event {event_id} was not an event object; send it anew"
        )
    new_id = str(uuid.uuid5(_RESUBMIT_NAMESPACE, event.id))
    answer = ingest_events(session, events=[{**payload, "id": new_id}], received_at=now)[0]
    outcome = answer.code or answer.status
    resolve_event(
        session,
        event_id=event_id,
        by=by,
        resolution=f"重新提交为 {new_id}:{outcome} / resubmitted as {new_id}: {outcome}",
        now=now,
    )
    return answer


@dataclass
class RebuildReport:
    """What a rebuild replayed, and any event whose replay disagreed with its stored status."""

    events: int = 0
    accepted: int = 0
    rejected: int = 0
    divergent: list[tuple[str, str, str]] = field(default_factory=list)


def _clear_projections(session: Session, round_id: int) -> None:
    handovers = select(Handover.id).where(Handover.round_id == round_id)
    session.execute(delete(table_of(Recall)).where(Recall.round_id == round_id))
    session.execute(delete(table_of(HandoverBox)).where(HandoverBox.handover_id.in_(handovers)))
    session.execute(delete(table_of(Handover)).where(Handover.round_id == round_id))
    session.execute(delete(table_of(Swab)).where(Swab.round_id == round_id))
    session.execute(
        update(table_of(Tube))
        .where(Tube.round_id == round_id)
        .values(
            state="issued",
            member_count=0,
            station_id=None,
            household_id=None,
            opened_at=None,
            closed_at=None,
            close_reason=None,
            box_id=None,
            received_at=None,
            condition=None,
            result=None,
            ct=None,
            resulted_at=None,
        )
    )
    session.execute(delete(table_of(Box)).where(Box.round_id == round_id))


def rebuild_projections(
    session: Session, *, round_id: int, recall_due: timedelta | None = None
) -> RebuildReport:
    """Recompute every projection of a round from its stored events, in arrival order.

    Every event goes through the same decisions as at ingest; only events stored as
    accepted are applied, so a rejected event stays rejected. An event whose replayed
    decision differs from its stored status is reported (it means set-up data changed).
    """
    take_writer_lock(session.connection())
    _clear_projections(session, round_id)
    report = RebuildReport()
    due = _recall_due(recall_due)
    last = 0
    while True:
        stored = session.execute(
            select(Event.number, Event.id, Event.status, Event.code, Event.payload)
            .where(Event.round_id == round_id, Event.number > last)
            .order_by(Event.number)
            .limit(REPLAY_CHUNK)
        ).all()
        if not stored:
            return report
        last = stored[-1].number
        ring = key_ring(session)
        items = [(row, _parse(open_payload(ring, row.payload))) for row in stored]
        valid = [i.event for _r, i in items if i.event is not None]
        wants = _wants(valid)
        state = load_state(session.connection(), wants, round_ids=[round_id])
        load_custody(session.connection(), state, wants)
        decider = Decider(state, scope=None, recall_due=due)
        for row, item in items:
            report.events += 1
            replayed = "rejected"
            if item.event is not None:
                outcome = decider.decide(item.event)
                if outcome.rejection is None:
                    replayed = "accepted"
                    if row.status == "accepted" and outcome.apply is not None:
                        outcome.apply()
            if row.status == "accepted":
                report.accepted += 1
            else:
                report.rejected += 1
            # A device token's limits (and a PIN typed) are not in the log, so a rejection
            # that depended on them may replay as accepted; it still stays rejected.
            if replayed != row.status and row.code not in DEVICE_BOUND_CODES:
                report.divergent.append((row.id, row.status, replayed))
        write_state(session.connection(), state)
