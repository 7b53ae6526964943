"""`tongxin registry cards`: a building's household cards as a printable A4 file."""

import json
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.registry import add_residents, build_tree
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.cards import qr_svg
from tongxin.registry.models import Resident

BUILDING, OTHER_BUILDING = "520113001001-01-01", "520113001002-01-01"
PASSWORD = "tongxin-test-1"


@pytest.fixture
def cli(db, commands_use_test_db):
    """A runner on the test database: 10 residents in building 1 (one room), 3 in building 2."""
    with session_scope(make_sessionmaker(db)) as s:
        tree = build_tree(s)
        add_residents(s, tree.household, 10)
        add_residents(s, tree.other_household, 3, start=100)
    yield CliRunner()


def run(runner, *args):
    return runner.invoke(build(), [str(a) for a in args])


def test_cards_file_holds_each_residents_qr_masked_name_and_room(cli, db, tmp_path):
    out = tmp_path / "cards.html"

    result = run(cli, "registry", "cards", "--building", BUILDING, "--out", out, "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary == {
        "building": BUILDING,
        "households": 1,
        "cards": 10,
        "pages": 2,
        "file": str(out),
    }
    html = out.read_text(encoding="utf-8")
    with db.connect() as c:
        codes = list(
            c.scalars(
                select(Resident.resident_code)
                .where(Resident.name.in_([f"居民{n}" for n in range(10)]))
                .order_by(Resident.id)
            )
        )
    assert re.findall(r'data-code="([^"]+)"', html) == codes
    for code in codes:
        # The QR holds the resident code alone: the very matrix segno makes for that string.
        assert qr_svg(code) in html
    assert "居*" in html and "居民1<" not in html
    assert "尖山小区 1栋" in html and "1单元 101室" in html
    assert html.count('class="card-page"') == 2 and "@page" in html


def test_cards_refuse_an_unknown_code_an_area_that_is_not_a_building_and_a_bad_file(cli, tmp_path):
    unknown = run(cli, "registry", "cards", "--building", "NOPE", "--out", tmp_path / "a.html")
    community = run(
        cli, "registry", "cards", "--building", "520113001001", "--out", tmp_path / "b.html"
    )
    not_html = run(cli, "registry", "cards", "--building", BUILDING, "--out", tmp_path / "c.pdf")
    missing_dir = tmp_path / "no" / "such" / "d.html"
    unwritable = run(cli, "registry", "cards", "--building", BUILDING, "--out", missing_dir)

    assert unknown.exit_code == 2 and "no building with code 'NOPE'" in unknown.output
    assert community.exit_code == 2 and "is a community, not a building" in community.output
    assert not_html.exit_code == 2 and ".html" in not_html.output
    # Rich wraps long lines: compare without the line breaks.
    assert unwritable.exit_code == 2
    assert f"cannot write {missing_dir}" in unwritable.output.replace("\n", "")


def test_cards_for_a_user_keep_to_their_jurisdiction(cli, tmp_path):
    created = run(
        cli, "users", "create", "worker", "--role", "community_worker",
        "--area", "520113001001", "--password", PASSWORD,
    )  # fmt: skip
    assert created.exit_code == 0, created.output

    own = run(
        cli, "registry", "cards", "--building", BUILDING, "--out", tmp_path / "a.html",
        "--as", "worker", "--json",
    )  # fmt: skip
    other = run(
        cli, "registry", "cards", "--building", OTHER_BUILDING, "--out", tmp_path / "b.html",
        "--as", "worker",
    )  # fmt: skip

    assert own.exit_code == 0 and json.loads(own.stdout)["cards"] == 10
    assert other.exit_code == 2 and "no building with code" in other.output
    assert not (tmp_path / "b.html").exists()
