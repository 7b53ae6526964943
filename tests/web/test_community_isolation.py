"""A community worker of 新星社区 cannot read, search, export or change a resident of 尖山社区."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.web.conftest import post_form
from tongxin.cli import build
from tongxin.registry.models import Resident

NEIGHBOUR = "居民100"  # lives in 尖山社区; the worker's own residents are 居民0-29


@pytest.fixture
def cli(commands_use_test_db):
    """A CLI runner on the test database."""
    yield CliRunner()


def _run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def test_pages_neither_show_nor_find_the_neighbouring_resident(worker, world):
    code = world.codes[NEIGHBOUR]

    assert worker.get(f"/residents/{code}").status_code == 404
    assert worker.get(f"/areas/{world.other_community}").status_code == 404
    assert worker.get("/residents", params={"area": world.other_community}).status_code == 404
    for search in ({"name": NEIGHBOUR}, {"phone": "0100"}, {"building": world.other_building}):
        page = worker.get("/residents", params=search)
        # The name search echoes the name in its form field, and nowhere else.
        assert page.text.count(NEIGHBOUR) == ("name" in search), search
        assert code not in page.text, search


def test_the_api_neither_shows_nor_finds_the_neighbouring_resident(worker, world):
    code = world.codes[NEIGHBOUR]

    assert worker.get(f"/api/v1/residents/{code}").status_code == 404
    assert worker.get(f"/api/v1/areas/{world.other_community}").status_code == 404
    assert (
        worker.get("/api/v1/residents", params={"area": world.other_community}).status_code == 404
    )
    found = worker.get("/api/v1/residents", params={"name": NEIGHBOUR}).json()
    assert found["total"] == 0 and found["items"] == []
    by_phone = worker.get("/api/v1/residents", params={"phone": "0100"}).json()
    assert all(item["name"] != NEIGHBOUR for item in by_phone["items"])


def test_an_upload_cannot_place_people_in_the_neighbouring_community(worker, world, db):
    out = io.StringIO()
    csv.writer(out).writerows(
        [
            ["姓名", "性别", "出生日期", "身份证号", "手机号", "小区", "楼栋", "单元", "房号"],
            ["张三", "男", "1980-05-17", "", "13800001234", "优品城邦", "1栋", "", "202"],
        ]
    )
    answer = post_form(
        worker,
        "/registry/import",
        files={"file": ("a.csv", out.getvalue().encode(), "text/csv")},
        data={"community": world.other_community},
    )

    assert answer.status_code == 404
    with db.connect() as c:
        assert c.scalar(select(func.count()).select_from(Resident)) == 35


def test_exports_acting_for_the_worker_keep_to_their_community(cli, world, tmp_path):
    own = tmp_path / "own.xlsx"
    other = tmp_path / "other.xlsx"

    exported = _run(
        cli, "registry", "export", "--area", world.community, "--out", own, "--as", "worker"
    )
    street = _run(
        cli, "registry", "export", "--area", world.street, "--out", other, "--as", "worker"
    )
    neighbour = _run(
        cli, "registry", "export", "--area", world.other_community, "--out", other, "--as", "worker"
    )
    qr = _run(cli, "registry", "qr", world.codes[NEIGHBOUR], "--as", "worker")
    sampler = _run(
        cli, "registry", "export", "--area", world.community, "--out", other, "--as", "sampler"
    )

    assert exported.exit_code == 0, exported.output
    # A read-only workbook keeps its file open until closed; left to the garbage collector,
    # the ResourceWarning fails whichever later test is running (warnings are errors).
    book = load_workbook(own, read_only=True)
    try:
        cells = {
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
        }
    finally:
        book.close()
    assert "居民0" in cells and NEIGHBOUR not in cells
    assert street.exit_code == 2 and neighbour.exit_code == 2 and qr.exit_code == 2
    assert sampler.exit_code == 2 and "registry.export" in sampler.output
    assert not other.exists()
