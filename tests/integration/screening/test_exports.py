"""Per-building xlsx lists: untested present residents and the door-to-door list."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from tests.factories.registry import add_residents
from tests.factories.screening import build_round
from tests.integration.screening.custody import T0, residents, swab
from tongxin.privacy.rules import mask_id_number
from tongxin.privacy.service import Viewer
from tongxin.registry.models import Resident
from tongxin.screening.exports import HEADERS, ExportError, ListKind, export_list


def _staged(session):
    r = build_round(session)
    add_residents(session, r.tree.other_household, 5, start=100)
    people = residents(session)
    swab(session, r, r.tubes10[0], people[:10])
    swab(session, r, r.tubes1[0], [people[30]])
    flags = {people[3].id: "bedridden", people[12].id: "bedridden", people[31].id: "disabled"}
    for rid, flag in flags.items():
        session.execute(update(Resident).where(Resident.id == rid).values({flag: True}))
    session.execute(update(Resident).where(Resident.id == people[29].id).values(status="moved_out"))
    return r, people


BY = Viewer(username="wang.community", role="community_worker")


def _export(session, r, area, kind):
    out = io.BytesIO()
    summary = export_list(
        session, round_id=r.round.id, area=area, kind=kind, out=out, now=T0, exported_by=BY
    )
    out.seek(0)
    book = load_workbook(out, read_only=True)
    sheets = {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book}
    return summary, sheets


def test_untested_list_has_one_sheet_per_building_with_the_people_to_chase(session):
    r, people = _staged(session)

    summary, sheets = _export(session, r, r.tree.street, ListKind.UNTESTED)

    assert (summary.buildings, summary.residents) == (2, 19 + 4)
    assert list(sheets) == ["说明", "尖山小区1栋", "优品城邦1栋"]
    assert "导出人 Exported by: wang.community" in sheets["说明"][1][0]
    first = sheets["尖山小区1栋"]
    assert tuple(first[0]) == HEADERS
    assert [row[4] for row in first[1:]] == [p.name for p in people[10:29]]
    row = first[1]
    assert row[:4] == ["尖山小区", "1栋", "1单元", "101"]
    assert row[7] == people[10].phone
    assert row[8] == mask_id_number(people[10].id_number)
    assert row[8].startswith(people[10].id_number[:4]) and "*" * 10 in row[8]
    assert row[9] == people[10].resident_code
    assert first[3][10] == "卧床"  # people[12]
    assert [row[4] for row in sheets["优品城邦1栋"][1:]] == [p.name for p in people[31:35]]


def test_door_to_door_lists_only_bedridden_or_disabled_people_not_yet_tested(session):
    r, people = _staged(session)

    summary, sheets = _export(session, r, r.tree.street, ListKind.DOOR_TO_DOOR)

    # people[3] is bedridden but was tested; people[12] and people[31] are still waiting.
    assert summary.residents == 2
    assert [row[4] for row in sheets["尖山小区1栋"][1:]] == [people[12].name]
    assert [(row[4], row[10]) for row in sheets["优品城邦1栋"][1:]] == [(people[31].name, "残疾")]


def test_an_area_with_nobody_to_list_still_writes_its_notes(session):
    r, _ = _staged(session)
    session.execute(update(Resident).values(status="moved_out"))

    summary, sheets = _export(session, r, r.tree.building, ListKind.UNTESTED)

    assert summary.residents == 0
    assert list(sheets) == ["说明"]
    assert any("Nobody to list" in str(row[0]) for row in sheets["说明"])


def test_a_unit_is_too_small_to_export(session):
    r, _ = _staged(session)
    with pytest.raises(ExportError):
        export_list(
            session,
            round_id=r.round.id,
            area=r.tree.unit,
            kind=ListKind.UNTESTED,
            out=io.BytesIO(),
            now=T0,
            exported_by=BY,
        )
