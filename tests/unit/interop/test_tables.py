import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from tongxin.interop.tables import NOTES_SHEET, TableFileError, decode_csv, read_sheets
from tongxin.interop.xlsx import WorkbookWriter, sheet_title

TEXT = "姓名,楼栋\n张三,1栋\n\n李四,2栋\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("gb18030"), "gb18030"),
        (TEXT.encode("gbk"), "gb18030"),
    ],
)
def test_csv_is_decoded_from_utf8_bom_and_gb18030(data, encoding):
    text, found = decode_csv(data)
    assert text == TEXT
    assert found == encoding


def test_csv_rows_carry_the_row_number_a_person_sees_and_skip_blank_rows():
    (sheet,) = read_sheets("people.csv", TEXT.encode("gb18030"))
    assert sheet.header == ["姓名", "楼栋"]
    assert sheet.header_row == 1
    assert list(sheet.rows) == [(2, ["张三", "1栋"]), (4, ["李四", "2栋"])]


def test_csv_header_may_follow_blank_lines_and_tabs_are_a_delimiter():
    (sheet,) = read_sheets("a.CSV", "\n\n姓名\t楼栋\n张三\t1栋\n".encode())
    assert sheet.header_row == 3
    assert list(sheet.rows) == [(4, ["张三", "1栋"])]


def test_utf16_and_undecodable_csv_are_reported_not_guessed():
    with pytest.raises(TableFileError) as err:
        read_sheets("a.csv", "姓名".encode("utf-16"))
    assert err.value.code == "file_encoding"
    with pytest.raises(TableFileError) as err:
        read_sheets("a.csv", b"\x81\x30\xff\xff\xff")
    assert err.value.code == "file_encoding"


def test_empty_files_and_other_types_are_reported():
    with pytest.raises(TableFileError) as err:
        read_sheets("a.csv", b"\n \n")
    assert err.value.code == "file_empty"
    with pytest.raises(TableFileError) as err:
        read_sheets("a.xls", b"whatever")
    assert err.value.code == "file_type"
    with pytest.raises(TableFileError) as err:
        read_sheets("a.xlsx", b"not a zip file")
    assert err.value.code == "file_unreadable"


def _xlsx(build) -> bytes:
    wb = Workbook()
    build(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_keeps_cell_types_and_real_row_numbers_on_every_sheet_but_the_notes():
    def build(wb):
        ws = wb.active
        ws.title = "1栋"
        ws.append(["姓名", "出生日期", "手机号"])
        ws.append(["张三", datetime(1980, 5, 17), 13800001234])
        ws.append([])
        ws.append(["李四", "1980/5/17", "13800001235"])
        notes = wb.create_sheet(NOTES_SHEET)
        notes.append(["just a title"])
        wb.create_sheet("empty")
        two = wb.create_sheet("2栋")
        two.append([None])
        two.append(["姓名"])
        two.append(["王五"])

    sheets = read_sheets("book.xlsx", _xlsx(build))
    assert [s.name for s in sheets] == ["1栋", "2栋"]
    first, second = sheets
    assert first.header == ["姓名", "出生日期", "手机号"]
    assert list(first.rows) == [
        (2, ("张三", datetime(1980, 5, 17), 13800001234)),
        (4, ("李四", "1980/5/17", "13800001235")),
    ]
    assert second.header_row == 2
    assert [n for n, _ in second.rows] == [3]


def test_sheet_titles_are_short_valid_and_unique():
    used: set[str] = set()
    long = "某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某小区1栋"
    first = sheet_title(long, used)
    second = sheet_title(long, used)
    third = sheet_title("a/b:c", used)
    assert len(first) == 31 and len(second) == 31
    assert first != second and second.endswith("(2)")
    assert third == "a_b_c"
    assert sheet_title("A_B_C", used) == "A_B_C(2)"


def test_written_workbooks_have_date_cells_and_bold_headers():
    writer = WorkbookWriter()
    sheet = writer.add_sheet("people")
    writer.header(sheet, ["姓名", "出生日期"], [10, 12])
    writer.append(sheet, ["张三", date(1980, 5, 17)])
    out = io.BytesIO()
    writer.save(out)
    ws = load_workbook(io.BytesIO(out.getvalue())).active
    assert ws["A1"].font.bold
    assert ws["B2"].value == datetime(1980, 5, 17)
    assert ws["B2"].number_format == "yyyy-mm-dd"
