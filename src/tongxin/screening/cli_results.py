"""`tongxin screening results …`: lab results in (CSV, xlsx, HL7 v2) and the FHIR R4 export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tongxin.commands import fail
from tongxin.screening.cli_setup import round_or_fail

if TYPE_CHECKING:
    from tongxin.screening.results import ImportOutcome

app = typer.Typer()
results_app = typer.Typer(help="Lab results in, FHIR R4 out.", no_args_is_help=True)
app.add_typer(results_app, name="results")

EXIT_NOT_ALL_APPLIED = 1
HL7_EXTENSIONS = (".hl7", ".txt")


@results_app.command("import")
def results_import(
    file: Path = typer.Argument(..., help="Results as .csv, .xlsx or .hl7 (ORU^R01 messages)."),
    round_code: str = typer.Option(..., "--round", help="Round code."),
    lab: str = typer.Option(..., "--lab", help="Code of the lab that reports."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Import lab results through the ledger; exit 1 if any row was not applied."""
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.screening.hl7 import import_hl7, split_messages
    from tongxin.screening.results import (
        ImportOutcome,
        ResultFileError,
        import_results,
        lab_of_round,
        parse_table,
    )
    from tongxin.screening.setup import round_by_code

    if not file.is_file():
        fail(f"找不到文件 {file}", f"no such file: {file}")
    data = file.read_bytes()
    now = datetime.now(UTC)
    device = f"lab:{lab}"
    is_hl7 = file.suffix.lower() in HL7_EXTENSIONS
    if not is_hl7:
        try:
            parsed = parse_table(file.name, data)
        except ResultFileError as exc:
            fail(f"{file.name}:{exc.message_zh}(未导入任何结果)",
                 f"{file.name}: {exc.message_en} (nothing imported) [{exc.code}]")  # fmt: skip
    with command_session() as session:
        if lab_of_round(session, round_code=round_code, lab_code=lab) is None:
            fail(
                f"轮次 {round_code} 不存在或未使用实验室 {lab}",
                f"round {round_code!r} does not exist or does not use lab {lab!r}",
            )
        acks: list[str] = []
        if is_hl7:
            text = _decode_hl7(data)
            if not split_messages(text):
                fail("文件中没有HL7消息(MSH段)", "the file holds no HL7 message (no MSH segment)")
            answers = import_hl7(
                session, text=text, round_code=round_code, lab=lab, device=device, received_at=now
            )
            acks = [ack_text for ack_text, _part in answers]
            outcome = ImportOutcome.combined(part for _ack, part in answers)
        else:
            outcome = import_results(
                session, parsed=parsed, round_code=round_code, lab=lab, device=device,
                received_at=now,
            )  # fmt: skip
        rnd = round_by_code(session, round_code)
        record_command(
            session,
            action="screening.results.import",
            target_type="round",
            target_id=round_code,
            area=rnd.district_id,
            after={"file": file.name, "lab": lab, **outcome.counts()},
        )
    _print_outcome(file.name, outcome, acks if is_hl7 else None, as_json=as_json)
    if not outcome.ok:
        raise typer.Exit(EXIT_NOT_ALL_APPLIED)


def _decode_hl7(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Older Chinese LIS write GB18030; it decodes any byte string UTF-8 refused.
        return data.decode("gb18030", errors="replace")


def _print_outcome(
    name: str, outcome: ImportOutcome, acks: list[str] | None, *, as_json: bool
) -> None:
    if as_json:
        data = outcome.as_dict()
        if acks is not None:
            data["acks"] = acks
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    lines = [
        f"{name}:采纳 {outcome.accepted},重复 {outcome.duplicate},拒收 {outcome.rejected}"
        f",无法读取 {len(outcome.problems)}",
        f"{name}: accepted {outcome.accepted}, duplicate {outcome.duplicate}, "
        f"rejected {outcome.rejected}, unreadable {len(outcome.problems)}",
    ]
    listed = [
        (p.row, f"  行 row {p.row} [{p.column}] {p.value!r}: {p.message_zh} / {p.message_en}")
        for p in outcome.problems
    ] + [
        (r.row, f"  行 row {r.row} {r.tube}: {r.message_zh} / {r.message_en} [{r.code}]")
        for r in outcome.rows
        if r.status == "rejected"
    ]
    lines.extend(line for _row, line in sorted(listed, key=lambda item: item[0]))
    typer.echo("\n".join(lines))


@results_app.command("fhir")
def results_fhir(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    out: Path = typer.Option(..., "--out", help="The bundle.json file to write."),
    as_json: bool = typer.Option(False, "--json", help="Print a summary as JSON."),
) -> None:
    """Write the round's results as a FHIR R4 Bundle (collection) to a JSON file."""
    from collections import Counter

    from tongxin.commands import command_session
    from tongxin.screening.fhir import fhir_bundle

    if not out.parent.is_dir():
        fail(f"目录不存在 {out.parent}", f"no such folder: {out.parent}")
    with command_session() as session:
        rnd = round_or_fail(session, round_code)
        bundle = fhir_bundle(session, round_id=rnd.id)
    out.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    counts = Counter(e["resource"]["resourceType"] for e in bundle.get("entry", []))
    resources = dict(sorted(counts.items()))
    if as_json:
        summary = {"round": round_code, "out": str(out), "resources": resources}
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        parts = ", ".join(f"{k} {v}" for k, v in resources.items()) or "no results yet"
        typer.echo(f"已写出 {out}:{parts}\nwrote {out}: {parts}")
