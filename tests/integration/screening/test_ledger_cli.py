"""`tongxin screening ingest / events / resolve / rebuild` on the test database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.events import Device
from tests.factories.screening import RoundSetup, build_round
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.rules import resident_code
from tongxin.screening.models import Event, Tube

CODES = [resident_code(10_000 + i) for i in range(30)]


@pytest.fixture
def rs(db, commands_use_test_db) -> RoundSetup:
    with session_scope(make_sessionmaker(db)) as s:
        r = build_round(s)
    yield r


def run(*args: object) -> dict | list:
    result = CliRunner().invoke(build(), [str(a) for a in args])
    assert result.exit_code == 0, result.output + str(result.exception or "")
    return json.loads(result.stdout)


def test_ingest_counts_and_a_second_run_is_all_duplicate(rs, tmp_path, db):
    pad = Device()
    events = [pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[i]) for i in range(11)]
    dump = tmp_path / "pad-1.ndjson"
    lines = [json.dumps(e, ensure_ascii=False) for e in events] + ["{not json", ""]
    dump.write_text("\n".join(lines), encoding="utf-8")
    assert run("screening", "ingest", dump, "--batch", 4, "--json") == {
        "accepted": 10,
        "duplicate": 0,
        "rejected": 2,
    }
    assert run("screening", "ingest", dump, "--json") == {
        "accepted": 0,
        "duplicate": 11,
        "rejected": 1,
    }
    with session_scope(make_sessionmaker(db)) as s:
        broken = s.scalars(select(Event).where(Event.code == "malformed")).all()
        assert len(broken) == 2
        assert "line 12" in (broken[0].message_en or "")


def test_rejected_queue_resolve_and_rebuild_from_the_cli(rs, tmp_path, db):
    pad = Device()
    events = [pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[i]) for i in range(11)]
    dump = tmp_path / "pad.ndjson"
    dump.write_text("\n".join(json.dumps(e) for e in events), encoding="utf-8")
    run("screening", "ingest", dump, "--json")
    queue = run("screening", "events", "--round", "R1", "--rejected", "--json")
    assert [(e["id"], e["code"]) for e in queue] == [(events[-1]["id"], "tube_full")]
    run("screening", "resolve", events[-1]["id"], "--note", "已另管重采", "--json")
    assert run("screening", "events", "--round", "R1", "--rejected", "--json") == []
    assert len(run("screening", "events", "--round", "R1", "--json")) == 11
    report = run("screening", "rebuild", "--round", "R1", "--json")
    assert report == {"events": 11, "accepted": 10, "rejected": 1, "divergent": []}
    with session_scope(make_sessionmaker(db)) as s:
        count = s.scalar(select(Tube.member_count).where(Tube.barcode == rs.tubes10[0]))
        assert count == 10


def test_a_dump_line_with_nan_is_kept_as_malformed_and_a_huge_number_is_stored_exactly(
    rs, tmp_path, db
):
    pad = Device()
    nan_swab, big_swab = (pad.swab(rs.stations[0].code, rs.tubes10[0], CODES[i]) for i in (0, 1))
    nan_line = json.dumps(nan_swab)[:-1] + ', "ct": NaN}'
    big_swab["seq"] = 2**80  # out of range: rejected, and stored exactly as sent
    dump = tmp_path / "pad-2.ndjson"
    dump.write_text(nan_line + "\n" + json.dumps(big_swab) + "\n", encoding="utf-8")
    assert run("screening", "ingest", dump, "--json") == {
        "accepted": 0,
        "duplicate": 0,
        "rejected": 2,
    }
    with session_scope(make_sessionmaker(db)) as s:
        unparsed, stored = s.scalars(select(Event).order_by(Event.number)).all()
        assert "line 1" in (unparsed.message_en or "")
        assert unparsed.payload["where"] == "pad-2.ndjson line 1"
        assert stored.id == big_swab["id"]
        assert (stored.status, stored.code) == ("rejected", "malformed")
        assert stored.payload["seq"] == 2**80
