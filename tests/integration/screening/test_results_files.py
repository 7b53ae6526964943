"""Reading lab result tables (CSV, xlsx) into checked rows and result events."""

import io
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook

from tongxin.screening.results import (
    ResultFileError,
    RowProblem,
    check_row,
    parse_table,
    result_event_id,
    result_events,
)
from tongxin.screening.schemas import EVENT_ADAPTER, ResultReported

RECEIVED = datetime(2022, 9, 23, 12, 0, tzinfo=UTC)


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def test_chinese_headers_words_ct_and_china_time_are_read():
    parsed = parse_table(
        "r.csv",
        csv_bytes(
            "管码,结果,Ct值,报告时间",
            "T00000000018,阴性,,2022-09-23 10:30",
            "T00000000026,阳性,28.5,2022/09/23 10:31",
            "T00000000034,无效,-,",
        ),
    )
    assert parsed.problems == []
    assert [(r.row, r.tube, r.result, r.ct, r.at) for r in parsed.rows] == [
        (2, "T00000000018", "negative", None, datetime(2022, 9, 23, 2, 30, tzinfo=UTC)),
        (3, "T00000000026", "positive", 28.5, datetime(2022, 9, 23, 2, 31, tzinfo=UTC)),
        (4, "T00000000034", "invalid", None, None),
    ]


def test_english_headers_in_gb18030_and_any_case_are_read():
    parsed = parse_table(
        "r.csv",
        csv_bytes(
            "Tube Barcode,RESULT,CT",
            "T00000000018,Negative,",
            "T00000000026,POS,30",
            encoding="gb18030",
        ),
    )
    assert [(r.tube, r.result, r.ct) for r in parsed.rows] == [
        ("T00000000018", "negative", None),
        ("T00000000026", "positive", 30.0),
    ]


def test_xlsx_cells_keep_their_types():
    book = Workbook()
    sheet = book.active
    sheet.append(["条码", "结果", "Ct", "时间"])
    sheet.append(["T00000000018", "阳性", 27.25, datetime(2022, 9, 23, 9, 0)])
    buf = io.BytesIO()
    book.save(buf)
    parsed = parse_table("r.xlsx", buf.getvalue())
    [row] = parsed.rows
    assert (row.row, row.result, row.ct) == (2, "positive", 27.25)
    assert row.at == datetime(2022, 9, 23, 1, 0, tzinfo=UTC)


def test_bad_fields_are_reported_per_row_and_field_and_good_rows_kept():
    parsed = parse_table(
        "r.csv",
        csv_bytes(
            "管码,结果,Ct",
            "T00000000018,阴性,",
            ",阴性,",
            "T00000000026,待定,",
            "T00000000034,阳性,75",
            "T00000000042,阳性,abc",
        ),
    )
    assert [r.tube for r in parsed.rows] == ["T00000000018"]
    assert [(p.row, p.column, p.value, p.code) for p in parsed.problems] == [
        (3, "tube", "", "tube_missing"),
        (4, "result", "待定", "result_word"),
        (5, "ct", "75", "ct_value"),
        (6, "ct", "abc", "ct_value"),
    ]
    assert "阴性/阳性/无效" in parsed.problems[1].message_zh


def test_a_file_without_a_barcode_column_is_refused_whole_naming_the_column():
    with pytest.raises(ResultFileError) as err:
        parse_table("r.csv", csv_bytes("编号,结果", "1,阴性"))
    assert err.value.code == "column_missing"
    assert "管码" in err.value.message_zh and "tube" in err.value.message_en


def test_an_unsupported_or_empty_file_is_refused_whole():
    with pytest.raises(ResultFileError):
        parse_table("r.txt", b"x")
    with pytest.raises(ResultFileError) as err:
        parse_table("r.csv", csv_bytes("管码,结果"))
    assert err.value.code == "file_empty"


def test_events_are_valid_wire_events_with_ids_from_the_reported_facts():
    parsed = parse_table("r.csv", csv_bytes("管码,结果,Ct", "T00000000026,阳性,28.5"))
    [event] = result_events(
        parsed.rows, round_code="R1", lab="LAB1", device="lab:LAB1", received_at=RECEIVED
    )
    model = EVENT_ADAPTER.validate_python(event)
    assert isinstance(model, ResultReported)
    assert (model.tube, model.result, model.ct, model.lab) == (
        "T00000000026",
        "positive",
        28.5,
        "LAB1",
    )
    assert model.at == RECEIVED
    # Same facts, same id, whichever file or row; a different result is a different event.
    same = result_event_id(lab="LAB1", tube="T00000000026", result="positive", ct=28.5)
    assert event["id"] == same
    assert same != result_event_id(lab="LAB1", tube="T00000000026", result="negative", ct=None)
    assert same != result_event_id(lab="LAB2", tube="T00000000026", result="positive", ct=28.5)


def test_a_barcode_with_control_characters_is_a_row_problem_not_a_stored_event():
    row = check_row(1, tube="T000\x0000018", result="阴性")

    assert isinstance(row, RowProblem)
    assert (row.column, row.code, row.value) == ("tube", "tube_format", "T000\\x0000018")
