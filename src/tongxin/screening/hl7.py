"""HL7 v2 ORU^R01 lab results in, ACK out (with the `hl7` package).

One message may carry many tubes: each OBR group (OBR and the OBX, SPM after it up to the
next OBR) is one tube. The tube barcode is SPM-2 (placer, else filler identifier) or, when
there is no SPM, OBR-3 (filler order number). The result is the qualitative OBX (CE/CWE/ST
value: a SNOMED code or a word such as Negative/阴性/Not detected); a numeric OBX whose
identifier names a Ct (cycle threshold) gives the Ct, the lowest when several genes are
reported. When several qualitative OBX disagree, positive wins over invalid over negative,
since missing a positive is the costly mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import hl7
from sqlalchemy.orm import Session

from tongxin.screening.results import (
    CHINA,
    ImportOutcome,
    ParsedResults,
    ResultRow,
    RowProblem,
    check_row,
    import_results,
    result_word,
)

# SNOMED CT codes labs use for the qualitative SARS-CoV-2 result.
SNOMED_RESULTS = {
    "260385009": "negative",
    "10828004": "positive",
    "260373001": "positive",  # Detected
    "260415000": "negative",  # Not detected
    "455371000124106": "invalid",  # Invalid result
}
QUALITATIVE_TYPES = frozenset({"CE", "CWE", "ST", "TX", "IS", "CNE"})
_SEVERITY = {"positive": 2, "invalid": 1, "negative": 0}


class Hl7Error(ValueError):
    """A message that is not a readable ORU^R01; nothing from it is applied."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(kw_only=True)
class OruMessage(ParsedResults):
    """The tube results of one ORU^R01 message."""

    control_id: str
    text: str  # the message as received, segments joined by CR


def split_messages(text: str) -> list[str]:
    """Split a file or stream into messages at each MSH, dropping batch and MLLP framing."""
    text = text.replace("\x0b", "").replace("\x1c", "")
    segments = [s.strip() for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r")]
    messages: list[list[str]] = []
    for seg in segments:
        if not seg or seg[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if seg.startswith("MSH"):
            messages.append([seg])
        elif messages:
            messages[-1].append(seg)
    return ["\r".join(m) for m in messages]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _components(value: Any) -> list[str]:
    return _text(value).split("^")


def _field(segment: Any, index: int) -> str:
    try:
        return _text(segment(index))
    except IndexError:
        return ""


def _tube_of(group: Sequence[Any]) -> str:
    for seg in group:
        if _text(seg[0]) == "SPM":
            for component in _components(_field(seg, 2)):
                identifier = component.split("&")[0].strip()
                if identifier:
                    return identifier
    obr = group[0]
    return _components(_field(obr, 3))[0].split("&")[0].strip()


def _is_ct(obx: Any) -> bool:
    ident = _field(obx, 3).lower()
    return _field(obx, 2).upper() == "NM" and (
        "ct" in ident.replace("^", " ").split() or "cycle threshold" in ident or "ct值" in ident
    )


def _qualitative(obx: Any) -> str | None:
    for component in _components(_field(obx, 5)):
        word = SNOMED_RESULTS.get(component.strip()) or result_word(component)
        if word:
            return word
    return None


def _time_of(group: Sequence[Any]) -> datetime | None:
    # OBX-14 (observation time) first, then OBR-7 (observation date/time).
    stamps = [_field(s, 14) for s in group if _text(s[0]) == "OBX"] + [_field(group[0], 7)]
    for stamp in stamps:
        if stamp:
            try:
                value = hl7.parse_datetime(stamp)
            except ValueError:
                continue
            if value is None:
                continue
            if value.tzinfo is None:
                value = value.replace(tzinfo=CHINA)
            return value.astimezone(UTC)
    return None


def parse_oru(text: str) -> OruMessage:
    """Read one ORU^R01 message into checked tube rows; raise Hl7Error if it is not one."""
    try:
        message = hl7.parse(text)
        kind = (_text(message.extract_field("MSH", 1, 9, 1, 1)),
                _text(message.extract_field("MSH", 1, 9, 1, 2)))  # fmt: skip
        control_id = _text(message.extract_field("MSH", 1, 10))
    except (hl7.ParseException, IndexError, KeyError, ValueError) as exc:
        raise Hl7Error(
            "hl7_unreadable", "无法解析HL7消息", f"cannot read the HL7 message: {exc}"
        ) from None
    if kind != ("ORU", "R01"):
        raise Hl7Error(
            "hl7_type",
            f"消息类型为 {'^'.join(kind)},应为 ORU^R01",
            f"message type is {'^'.join(kind)}, not ORU^R01",
        )
    if not control_id:
        raise Hl7Error("hl7_control_id", "MSH-10 消息控制号为空", "MSH-10 (control id) is empty")
    parsed = OruMessage(control_id=control_id, text=str(message))
    groups: list[list[Any]] = []
    for seg in message:
        name = _text(seg[0])
        if name == "OBR":
            groups.append([seg])
        elif groups and name in ("OBX", "SPM", "NTE"):
            groups[-1].append(seg)
    if not groups:
        raise Hl7Error("hl7_no_obr", "消息中没有OBR段", "the message has no OBR segment")
    for number, group in enumerate(groups, 1):
        observations = [s for s in group if _text(s[0]) == "OBX"]
        words = [
            w
            for s in observations
            if _field(s, 2).upper() in QUALITATIVE_TYPES and (w := _qualitative(s)) is not None
        ]
        cts = [_field(s, 5) for s in observations if _is_ct(s)]
        unread = [
            _field(s, 5)
            for s in observations
            if _field(s, 2).upper() in QUALITATIVE_TYPES and _qualitative(s) is None
        ]
        result: object = (
            max(words, key=_SEVERITY.__getitem__) if words else (unread[0] if unread else None)
        )
        ct: object = None
        if cts:
            numbers = []
            for raw in cts:
                try:
                    numbers.append(float(raw))
                except ValueError:
                    ct = raw  # reported as a problem by check_row
                    break
            else:
                ct = min(numbers)
        checked = check_row(number, tube=_tube_of(group), result=result, ct=ct, at=None)
        if isinstance(checked, RowProblem):
            parsed.problems.append(checked)
        else:
            when = _time_of(group)
            parsed.rows.append(
                ResultRow(checked.row, checked.tube, checked.result, checked.ct, when)
            )
    return parsed


def ack(message_text: str, *, code: str, note: str = "", errors: Sequence[str] = ()) -> str:
    """Return the ACK of a message: AA all applied, AE some rows not, AR none (CR-joined)."""
    try:
        message = hl7.parse(message_text)
        reply = message.create_ack(code, application="TONGXIN")
    except (hl7.ParseException, IndexError, KeyError, ValueError):
        # Not even an MSH to answer to: a bare ACK that says so.
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        reply = hl7.parse(
            f"MSH|^~\\&|TONGXIN||||{stamp}||ACK|{hl7.generate_message_control_id()}|P|2.5.1\r"
            f"MSA|{code}|"
        )
    lines = str(reply).split("\r")
    msa = next(line for line in lines if line.startswith("MSA"))
    if note:
        msa_fields = msa.split("|")
        while len(msa_fields) < 4:
            msa_fields.append("")
        msa_fields[3] = _escape(note)
        lines[lines.index(msa)] = "|".join(msa_fields)
    lines.extend(f"ERR|||207^Application internal error^HL70357|E|||{_escape(e)}" for e in errors)
    return "\r".join(line for line in lines if line)


def _escape(text: str) -> str:
    # HL7 escape sequences for the delimiters that may appear in free text.
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def import_hl7(
    session: Session,
    *,
    text: str,
    round_code: str,
    lab: str,
    device: str,
    received_at: datetime,
    scope: Any = None,
) -> list[tuple[str, ImportOutcome]]:
    """Import each ORU^R01 message of a text on its own; return each one's ACK and outcome.

    A message that is not a readable ORU^R01 applies nothing and is answered AR; one whose
    every tube was applied or already known, AA; any other, AE with an ERR per problem.
    """
    answers: list[tuple[str, ImportOutcome]] = []
    for number, message in enumerate(split_messages(text), 1):
        try:
            parsed = parse_oru(message)
        except Hl7Error as exc:
            problem = RowProblem(number, "message", "", exc.code, exc.message_zh, exc.message_en)
            answers.append(
                (ack(message, code="AR", note=exc.message_en), ImportOutcome(problems=[problem]))
            )
            continue
        outcome = import_results(
            session,
            parsed=parsed,
            round_code=round_code,
            lab=lab,
            device=device,
            received_at=received_at,
            scope=scope,
        )
        errors = [f"OBR {p.row} {p.column}: {p.code} {p.message_en}" for p in parsed.problems]
        errors += [
            f"OBR {r.row} {r.tube}: {r.code} {r.message_en}"
            for r in outcome.rows
            if r.status == "rejected"
        ]
        note = (
            f"accepted {outcome.accepted}, duplicate {outcome.duplicate}, "
            f"rejected {outcome.rejected}, unreadable {len(parsed.problems)}"
        )
        answers.append(
            (ack(message, code="AA" if outcome.ok else "AE", note=note, errors=errors), outcome)
        )
    return answers
