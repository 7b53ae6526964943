"""Lab results through the ledger: files, HL7, re-uploads and the CLI."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.factories.screening import ROUND_START
from tests.integration.screening.lab_round import build_lab_round
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.hl7 import parse_oru
from tongxin.screening.ledger import ingest_events
from tongxin.screening.models import Event, Recall, Tube
from tongxin.screening.results import import_results, parse_table

RECEIVED = ROUND_START + timedelta(hours=5)


def results_csv(*rows: str) -> bytes:
    return ("管码,结果,Ct\n" + "\n".join(rows) + "\n").encode()


def tube_results(session):
    query = select(Tube.barcode, Tube.result).where(Tube.result.is_not(None))
    return dict(session.execute(query).tuples().all())


def test_a_results_file_applies_per_row_and_a_reupload_counts_nothing_twice(session):
    lab = build_lab_round(session)
    t1, t2, single = lab.received
    never_received = lab.setup.tubes10[2]
    unknown = "T99999999990"
    data = results_csv(
        f"{t1},阴性,",
        f"{t2},阳性,27.5",
        f"{single},无效,",
        f"{never_received},阴性,",
        f"{unknown},阴性,",
        f"{t1},待定,",
    )

    def upload():
        return import_results(
            session,
            parsed=parse_table("results.csv", data),
            round_code="R1",
            lab="LAB1",
            device="lab:LAB1",
            received_at=RECEIVED,
        )

    first = upload()
    assert (first.accepted, first.duplicate, first.rejected) == (3, 0, 2)
    assert [(r.row, r.code) for r in first.rows if r.status == "rejected"] == [
        (5, "result_tube_not_received"),
        (6, "result_tube_unknown"),
    ]
    assert [(p.row, p.code) for p in first.problems] == [(7, "result_word")]
    assert tube_results(session) == {t1: "negative", t2: "positive", single: "invalid"}
    # The positive pool and the invalid single tube open one recall per member.
    assert session.scalar(select(func.count(Recall.id)).where(Recall.reason == "positive")) == 2
    assert session.scalar(select(func.count(Recall.id)).where(Recall.reason == "invalid")) == 1
    # Rejected rows are kept in the ledger for a person to resolve.
    assert session.scalar(select(func.count(Event.number)).where(Event.status == "rejected")) == 2

    events_before = session.scalar(select(func.count(Event.number)))
    again = upload()
    # Only the result that came before its box receipt is tried again (and still fails).
    assert (again.accepted, again.duplicate, again.rejected) == (0, 4, 1)
    assert [(r.row, r.code) for r in again.rows if r.status == "rejected"] == [
        (5, "result_tube_not_received")
    ]
    assert session.scalar(select(func.count(Event.number))) == events_before + 1
    assert session.scalar(select(func.count(Recall.id))) == 3


def test_a_result_sent_before_its_box_receipt_applies_when_sent_again_after_it(session):
    lab = build_lab_round(session)
    late = lab.setup.tubes10[2]
    data = results_csv(f"{late},阳性,25")

    def upload():
        out = import_results(session, parsed=parse_table("r.csv", data), round_code="R1",
                             lab="LAB1", device="lab:LAB1", received_at=RECEIVED)  # fmt: skip
        return [(r.status, r.code) for r in out.rows]

    assert upload() == [("rejected", "result_tube_not_received")]
    assert upload() == [("rejected", "result_tube_not_received")]
    receipt = [
        {"id": str(uuid.uuid4()), "device": "pad-1", "seq": 100 + n, "at": RECEIVED.isoformat(),
         "round": "R1", **fields}
        for n, fields in enumerate([
            {"type": "handover", "boxes": ["B2"], "from": "pad-1", "to": "courier-1",
             "confirmations": ["from", "to"]},
            {"type": "box_received", "box": "B2", "lab": "LAB1", "conditions": {}},
        ])
    ]  # fmt: skip
    answers = ingest_events(session, events=receipt, received_at=RECEIVED)
    assert [a.status for a in answers] == ["accepted", "accepted"]
    assert upload() == [("accepted", None)]
    assert upload() == [("duplicate", None)]
    assert tube_results(session)[late] == "positive"


def test_a_changed_result_for_a_resulted_tube_is_kept_as_rejected_not_applied(session):
    lab = build_lab_round(session)
    t1 = lab.received[0]
    parsed = parse_table("a.csv", results_csv(f"{t1},阴性,"))
    import_results(session, parsed=parsed, round_code="R1", lab="LAB1", device="lab:LAB1",
                   received_at=RECEIVED)  # fmt: skip
    changed = parse_table("b.csv", results_csv(f"{t1},阳性,30"))
    out = import_results(session, parsed=changed, round_code="R1", lab="LAB1",
                         device="lab:LAB1", received_at=RECEIVED)  # fmt: skip
    assert [(r.status, r.code) for r in out.rows] == [("rejected", "result_exists")]
    assert tube_results(session) == {t1: "negative"}


def test_the_same_results_by_hl7_after_a_file_are_duplicates(session):
    lab = build_lab_round(session)
    t1, t2, _single = lab.received
    parsed = parse_table("a.csv", results_csv(f"{t1},阴性,", f"{t2},阳性,27.5"))
    import_results(session, parsed=parsed, round_code="R1", lab="LAB1", device="lab:LAB1",
                   received_at=RECEIVED)  # fmt: skip
    message = parse_oru(
        "\r".join(
            [
                "MSH|^~\\&|LIS|LAB1|TONGXIN|CDC|20220923103000+0800||ORU^R01|M1|P|2.5.1",
                f"OBR|1||{t1}|94500-6^SARS-CoV-2 RNA^LN",
                "OBX|1|CWE|94500-6^SARS-CoV-2 RNA^LN||260385009^Negative^SCT||||||F",
                f"OBR|2||{t2}|94500-6^SARS-CoV-2 RNA^LN",
                "OBX|1|ST|94500-6^SARS-CoV-2 RNA^LN||阳性||||||F",
                "OBX|2|NM|Ct^Ct^L||27.5||||||F",
            ]
        )
    )
    out = import_results(session, parsed=message, round_code="R1", lab="LAB1",
                         device="lab:LAB1", received_at=RECEIVED)  # fmt: skip
    assert (out.accepted, out.duplicate, out.rejected) == (0, 2, 0)


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner on the test database, with a round whose first box reached LAB1."""
    with session_scope(make_sessionmaker(db)) as s:
        lab = build_lab_round(s)
    yield CliRunner(), lab


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def test_cli_import_prints_counts_and_each_rejected_row_and_exits_1(cli, tmp_path):
    runner, lab = cli
    t1, t2, single = lab.received
    path = tmp_path / "results.csv"
    path.write_bytes(results_csv(f"{t1},阴性,", f"{t2},阳性,27.5", "T99999999990,阴性,",
                                 f"{single},?,"))  # fmt: skip
    result = run(runner, "screening", "results", "import", path, "--round", "R1",
                 "--lab", "LAB1", "--json")  # fmt: skip
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert (out["accepted"], out["duplicate"], out["rejected"]) == (2, 0, 1)
    assert [(r["row"], r["tube"], r["code"]) for r in out["rejections"]] == [
        (4, "T99999999990", "result_tube_unknown")
    ]
    assert [(p["row"], p["column"], p["code"]) for p in out["problems"]] == [
        (5, "result", "result_word")
    ]
    again = run(runner, "screening", "results", "import", path, "--round", "R1",
                "--lab", "LAB1")  # fmt: skip
    assert "重复 3" in again.stdout and "duplicate 3" in again.stdout


def test_cli_import_of_a_clean_hl7_file_exits_0_and_prints_the_acks(cli, tmp_path):
    runner, lab = cli
    t1, _t2, _single = lab.received
    path = tmp_path / "results.hl7"
    path.write_text(
        "MSH|^~\\&|LIS|LAB1|TONGXIN|CDC|20220923103000+0800||ORU^R01|M7|P|2.5.1\n"
        f"OBR|1||{t1}|94500-6^SARS-CoV-2 RNA^LN\n"
        "OBX|1|ST|94500-6^SARS-CoV-2 RNA^LN||Negative||||||F\n",
        encoding="utf-8",
    )
    result = run(runner, "screening", "results", "import", path, "--round", "R1",
                 "--lab", "LAB1", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["accepted"] == 1
    [ack] = out["acks"]
    assert ack.split("\r")[1].startswith("MSA|AA|M7")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--round", "R9", "--lab", "LAB1"], "R9"),
        (["--round", "R1", "--lab", "LAB9"], "LAB9"),
    ],
)
def test_cli_import_names_an_unknown_round_or_lab_and_exits_2(cli, tmp_path, args, named):
    runner, lab = cli
    path = tmp_path / "results.csv"
    path.write_bytes(results_csv(f"{lab.received[0]},阴性,"))
    result = run(runner, "screening", "results", "import", path, *args)
    assert result.exit_code == 2
    assert named in result.stderr


def test_cli_import_of_a_file_without_a_result_column_applies_nothing(cli, db, tmp_path):
    runner, lab = cli
    path = tmp_path / "results.csv"
    path.write_bytes(f"管码,Ct\n{lab.received[0]},30\n".encode())
    result = run(runner, "screening", "results", "import", path, "--round", "R1",
                 "--lab", "LAB1", "--json")  # fmt: skip
    assert result.exit_code == 2
    assert "column_missing" in result.stderr
    with session_scope(make_sessionmaker(db)) as s:
        assert tube_results(s) == {}
