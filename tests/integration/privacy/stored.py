"""Stage personal data through the real entry points and read the database as raw bytes."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.factories.events import Device
from tests.factories.screening import ROUND_START, build_round
from tests.integration.registry.import_files import csv_bytes
from tongxin.registry.importing import import_residents
from tongxin.screening.ledger import Unparsed, ingest_events

# A resident card whose check character is X, a walk-in's card (not in the registry), and
# the card of someone whose swab reached the server as a broken line of a dump file.
RESIDENT_NUMBER = "52011319850309018X"
WALK_IN_NUMBER = "11010519491231002X"
BROKEN_LINE_NUMBER = "130503196704010016"
TODAY = date(2022, 9, 23)


@dataclass(frozen=True)
class Staged:
    """What was stored: the imported residents' numbers and the round the walk-in joined."""

    numbers: list[str]
    round_code: str


def stage(session: Session) -> Staged:
    """Import residents from a file, then take a walk-in's swab through the ledger."""
    rs = build_round(session, residents=3)
    numbers = [RESIDENT_NUMBER, "520113198503090155", "520113198503090171"]
    rows = [[f"导入{i}", n, "1栋", "1单元", "301"] for i, n in enumerate(numbers)]
    report = import_residents(
        session,
        source="a.csv",
        data=csv_bytes(["姓名", "身份证号", "楼栋", "单元", "房号"], rows),
        community=rs.tree.community,
        today=TODAY,
    )
    assert report.ok, report.problems
    pad = Device()
    walk_in = pad.swab(
        rs.stations[0].code,
        rs.tubes10[0],
        id_number=WALK_IN_NUMBER,
        name="访客",
        phone="13912345678",
    )
    broken = Unparsed(
        '{"type": "swab_taken", "person": {"id_number": "' + BROKEN_LINE_NUMBER, "pad-1.ndjson:7"
    )
    answers = ingest_events(
        session, events=[walk_in, broken], received_at=ROUND_START + timedelta(hours=1)
    )
    assert [a.status for a in answers] == ["accepted", "rejected"]
    return Staged(numbers, rs.round.code)


def raw_database_bytes(engine: Engine, database_url: str) -> bytes:
    """Return what an attacker with the database files (or a dump) would read."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as c:
            c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        path = Path(engine.url.database or "")
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        # Read by another process: closing any descriptor of these files here would drop
        # every POSIX lock this process holds on them, SQLite's included. A server started
        # later would then take this process for gone, truncate the `-shm` file it still
        # has mapped, and the next statement here would die of SIGBUS.
        cat = subprocess.run(
            ["cat", *(str(f) for f in files if f.exists())], capture_output=True, check=True
        )
        return cat.stdout
    url = urlsplit(database_url)
    options = unquote(parse_qs(url.query).get("options", [""])[0])
    schema = options.split("search_path=", 1)[1]
    dump = subprocess.run(
        [
            "/usr/bin/pg_dump",
            "-h",
            url.hostname or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-n",
            schema,
            url.path.lstrip("/"),
        ],
        check=True,
        capture_output=True,
    )
    return dump.stdout
