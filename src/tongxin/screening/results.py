"""Lab results in: CSV/xlsx tables, HL7 v2 and API rows become `result_reported` events.

Every way in ends in the same place: `result_events` turns checked rows into ledger events
and `import_results` sends them through `ledger.ingest_events`, so a result is applied,
rejected (and kept) or recognised as a duplicate by the ledger's rules alone.

The event id is a UUID5 of what the lab reported (lab, tube, result, Ct), not of where it
was written: uploading the same file again, or the same results as xlsx after CSV or by HL7
after a file, is a `duplicate` and counts nothing twice; a changed result for a tube is a new
event that the ledger judges (and keeps if it rejects it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.interop.tables import TableFileError, read_sheets

# Namespace of result event ids; fixed forever so that re-imports map to the same ids.
RESULT_NAMESPACE = uuid.UUID("6f1d3c52-6a1e-4c37-9a51-3f0d5b8e2a10")
# Lab times written without an offset are China time.
CHINA = timezone(timedelta(hours=8))
CT_MAX = 60.0
# Ledger rejections of a result that a later event can cure: a re-send is a new attempt.
RETRY_AFTER = ("result_tube_not_received",)

RESULT_WORDS: dict[str, str] = {
    "阴性": "negative",
    "negative": "negative",
    "neg": "negative",
    "未检出": "negative",
    "not detected": "negative",
    "阳性": "positive",
    "positive": "positive",
    "pos": "positive",
    "检出": "positive",
    "detected": "positive",
    "无效": "invalid",
    "invalid": "invalid",
}
# Cells labs write in the Ct column of a negative tube.
NO_CT = frozenset({"", "-", "—", "/", "n/a", "na", "noct", "no ct", "无", "undetermined"})

TUBE_HEADERS = frozenset(
    {"管码", "条码", "试管条码", "采样管条码", "tube", "barcode", "tube barcode"}
)
RESULT_HEADERS = frozenset({"结果", "检测结果", "result"})
CT_HEADERS = frozenset({"ct", "ct值", "ct value"})
TIME_HEADERS = frozenset({"时间", "报告时间", "检测时间", "time", "reported at", "result time"})


class ResultFileError(ValueError):
    """A results file that cannot be used at all; nothing from it is applied."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True)
class ResultRow:
    """One tube result as a lab wrote it, checked."""

    row: int  # row number in the sheet, or the OBR group of an HL7 message
    tube: str
    result: str  # negative | positive | invalid
    ct: float | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RowProblem:
    """A row whose fields cannot form a result; it is reported and not sent to the ledger."""

    row: int
    column: str
    value: str
    code: str
    message_zh: str
    message_en: str


@dataclass
class ParsedResults:
    """The rows read from one source and the problems of the rows that were not usable."""

    rows: list[ResultRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def result_word(raw: object) -> str | None:
    """Return negative/positive/invalid for a lab's result word (Chinese or English)."""
    if not isinstance(raw, str):
        return None
    return RESULT_WORDS.get(" ".join(raw.strip().lower().replace("_", " ").split()))


def parse_ct(raw: object) -> float | None:
    """Return the Ct value of a cell, None for an empty or 'no Ct' cell; ValueError if bad."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError("not a number")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = str(raw).strip()
        if text.lower() in NO_CT:
            return None
        value = float(text)
    if not 0 <= value <= CT_MAX:
        raise ValueError("out of range")
    return value


def parse_time(raw: object) -> datetime | None:
    """Return an aware UTC time from a cell (datetime or ISO-like text); naive = China time."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        value = raw
    else:
        value = datetime.fromisoformat(str(raw).strip().replace("/", "-"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA)
    return value.astimezone(UTC)


def check_row(
    row: int, *, tube: object, result: object, ct: object = None, at: object = None
) -> ResultRow | RowProblem:
    """Check one result's fields; return the row or the first problem, naming the field."""
    tube_text = "" if tube is None else str(tube).strip()
    if not tube_text:
        return RowProblem(row, "tube", "", "tube_missing", "缺少管码", "the tube barcode is empty")
    if any(ch < " " for ch in tube_text):
        # A barcode never holds control characters, and PostgreSQL cannot store a NUL.
        return RowProblem(
            row,
            "tube",
            tube_text.encode("unicode_escape").decode("ascii"),
            "tube_format",
            "管码含有控制字符",
            "the tube barcode contains control characters",
        )
    word = result_word(result)
    if word is None:
        return RowProblem(
            row,
            "result",
            "" if result is None else str(result),
            "result_word",
            f"结果“{result or ''}”无法识别,应为 阴性/阳性/无效",
            f"result {result!r} is not one of negative/positive/invalid (阴性/阳性/无效)",
        )
    try:
        ct_value = parse_ct(ct)
    except ValueError:
        return RowProblem(
            row,
            "ct",
            str(ct),
            "ct_value",
            f"Ct值“{ct}”应为 0 到 {CT_MAX:g} 之间的数",
            f"Ct {ct!r} must be a number from 0 to {CT_MAX:g}",
        )
    try:
        when = parse_time(at)
    except ValueError:
        return RowProblem(
            row,
            "time",
            str(at),
            "time_value",
            f"时间“{at}”无法识别,应如 2022-09-23 10:30",
            f"time {at!r} is not a date and time like 2022-09-23 10:30",
        )
    return ResultRow(row, tube_text, word, ct_value, when)


def _column(header: list[str], names: frozenset[str]) -> int | None:
    for i, cell in enumerate(header):
        if " ".join(cell.lower().replace("_", " ").split()) in names:
            return i
    return None


def parse_table(name: str, data: bytes) -> ParsedResults:
    """Read a results CSV or xlsx: every sheet with a tube and a result column.

    Raises ResultFileError when the file cannot be read or lacks those columns.
    """
    try:
        sheets = read_sheets(name, data)
    except TableFileError as exc:
        raise ResultFileError(exc.code, exc.message_zh, exc.message_en) from None
    parsed = ParsedResults()
    for sheet in sheets:
        tube_at = _column(sheet.header, TUBE_HEADERS)
        result_at = _column(sheet.header, RESULT_HEADERS)
        missing = [
            label
            for label, where in (("管码/tube", tube_at), ("结果/result", result_at))
            if where is None
        ]
        if missing:
            where = f"工作表“{sheet.name}”" if sheet.name else "表头"
            raise ResultFileError(
                "column_missing",
                f"{where}缺少列:{'、'.join(missing)}(表头为 {'、'.join(sheet.header)})",
                f"{sheet.name or 'the header'} lacks the column(s) {', '.join(missing)} "
                f"(header is {', '.join(sheet.header)})",
            )
        assert tube_at is not None and result_at is not None
        ct_at = _column(sheet.header, CT_HEADERS)
        time_at = _column(sheet.header, TIME_HEADERS)

        def cell(cells: Sequence[Any], at: int | None) -> Any:
            return cells[at] if at is not None and at < len(cells) else None

        for number, cells in sheet.rows:
            checked = check_row(
                number,
                tube=cell(cells, tube_at),
                result=cell(cells, result_at),
                ct=cell(cells, ct_at),
                at=cell(cells, time_at),
            )
            if isinstance(checked, RowProblem):
                parsed.problems.append(checked)
            else:
                parsed.rows.append(checked)
    if not parsed.rows and not parsed.problems:
        raise ResultFileError("file_empty", "文件中没有结果行", "the file has no result rows")
    return parsed


def result_event_id(*, lab: str, tube: str, result: str, ct: float | None) -> str:
    """Return the event id of a reported result: the same facts always give the same id."""
    ct_text = "" if ct is None else f"{ct:.2f}"
    return str(uuid.uuid5(RESULT_NAMESPACE, f"result_reported|{lab}|{tube}|{result}|{ct_text}"))


def result_events(
    rows: Iterable[ResultRow], *, round_code: str, lab: str, device: str, received_at: datetime
) -> list[dict[str, Any]]:
    """Turn checked rows into `result_reported` events in the wire format."""
    events: list[dict[str, Any]] = []
    for r in rows:
        event: dict[str, Any] = {
            "id": result_event_id(lab=lab, tube=r.tube, result=r.result, ct=r.ct),
            "device": device,
            "seq": r.row,
            "type": "result_reported",
            "at": (r.at or received_at).isoformat(),
            "round": round_code,
            "tube": r.tube,
            "lab": lab,
            "result": r.result,
        }
        if r.ct is not None:
            event["ct"] = r.ct
        events.append(event)
    return events


@dataclass(frozen=True)
class RowOutcome:
    """What the ledger said about one row."""

    row: int
    tube: str
    status: str  # accepted | duplicate | rejected
    code: str | None
    message_zh: str | None
    message_en: str | None


@dataclass
class ImportOutcome:
    """Counts and per-row answers of one results import."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rows: list[RowOutcome] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether every row was applied or already known."""
        return not self.rejected and not self.problems

    @classmethod
    def combined(cls, parts: Iterable[ImportOutcome]) -> ImportOutcome:
        """Return one outcome adding up several (the messages of one HL7 text)."""
        total = cls()
        for part in parts:
            total.accepted += part.accepted
            total.duplicate += part.duplicate
            total.rejected += part.rejected
            total.rows.extend(part.rows)
            total.problems.extend(part.problems)
        return total

    def counts(self) -> dict[str, int]:
        """Return how many rows went which way, without their content (for the audit log)."""
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "invalid": len(self.problems),
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape the CLI and API print."""
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "problems": [
                {
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "code": p.code,
                    "message_zh": p.message_zh,
                    "message_en": p.message_en,
                }
                for p in self.problems
            ],
            "rejections": [
                {
                    "row": r.row,
                    "tube": r.tube,
                    "code": r.code,
                    "message_zh": r.message_zh,
                    "message_en": r.message_en,
                }
                for r in self.rows
                if r.status == "rejected"
            ],
        }


def lab_of_round(session: Session, *, round_code: str, lab_code: str) -> tuple[str, str] | None:
    """Return (round code, lab code) when the round exists and uses the lab, else None."""
    from tongxin.screening.models import Lab, Round, RoundLab

    found = session.execute(
        select(Round.code, Lab.code)
        .join(RoundLab, RoundLab.round_id == Round.id)
        .join(Lab, Lab.id == RoundLab.lab_id)
        .where(Round.code == round_code, Lab.code == lab_code)
    ).first()
    return None if found is None else (found[0], found[1])


def attempt_id(base: str, attempt: int) -> str:
    """Return the id of the n-th attempt to report a result (the first is the base id)."""
    return base if attempt == 1 else str(uuid.uuid5(RESULT_NAMESPACE, f"{base}|attempt|{attempt}"))


def current_attempt_ids(session: Session, base_ids: Sequence[str]) -> dict[str, str]:
    """Map each result's base id to the id to send now: its first attempt not rejected for a
    cause that time can fix.

    A result the ledger rejected stays rejected under its id (a replay of that id changes
    nothing). When the lab re-sends a result that came before its box was received, the
    re-send must be heard once the receipt is in, so it gets the next attempt id. Any other
    rejection (unknown tube, a tube already resulted) would only be rejected again, so its
    re-send stays a `duplicate`, as does the re-send of an accepted result.
    """
    from tongxin.screening.models import Event

    chosen: dict[str, str] = {}
    pending = dict.fromkeys(base_ids, 1)
    while pending:
        candidates = {attempt_id(base, n): base for base, n in pending.items()}
        rejected: set[str] = set()
        ids = list(candidates)
        for start in range(0, len(ids), 1000):
            rejected.update(
                session.scalars(
                    select(Event.id).where(
                        Event.id.in_(ids[start : start + 1000]),
                        Event.status == "rejected",
                        Event.code.in_(RETRY_AFTER),
                    )
                )
            )
        retry: dict[str, int] = {}
        for candidate, base in candidates.items():
            if candidate in rejected:
                retry[base] = pending[base] + 1
            else:
                chosen[base] = candidate
        pending = retry
    return chosen


def import_results(
    session: Session,
    *,
    parsed: ParsedResults,
    round_code: str,
    lab: str,
    device: str,
    received_at: datetime,
    scope: Any = None,
) -> ImportOutcome:
    """Send checked result rows through the ledger, one event per row, and collect answers.

    `scope` is the lab device's `DeviceScope` for API calls, None for trusted imports.
    """
    from tongxin.screening.ledger import ingest_events

    outcome = ImportOutcome(problems=list(parsed.problems))
    events = result_events(
        parsed.rows, round_code=round_code, lab=lab, device=device, received_at=received_at
    )
    if not events:
        return outcome
    sendable = current_attempt_ids(session, [e["id"] for e in events])
    for event in events:
        event["id"] = sendable[event["id"]]
    answers = ingest_events(session, events=events, received_at=received_at, scope=scope)
    for row, answer in zip(parsed.rows, answers, strict=True):
        if answer.status == "accepted":
            outcome.accepted += 1
        elif answer.status == "duplicate":
            outcome.duplicate += 1
        else:
            outcome.rejected += 1
        outcome.rows.append(
            RowOutcome(
                row.row, row.tube, answer.status, answer.code, answer.message, answer.message_en
            )
        )
    return outcome
