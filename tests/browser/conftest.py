"""Browser fixtures: a committed demo-like tree, a real Uvicorn server, headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from tests.conftest import engine_under_test
from tests.factories.registry import build_tree
from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry import rules
from tongxin.registry.rules import AreaLevel, Gender
from tongxin.registry.service import (
    NewResident,
    add_area,
    add_household,
    household_ancestors,
    insert_residents,
    resident_rows,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "tongxin-demo-1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# (name, gender, birth date, phone, flags) for a few households of 尖山小区 1栋.
PEOPLE: list[tuple[str, Gender, date, str | None, set[str]]] = [
    ("张建国", Gender.MALE, date(1948, 3, 12), None, {"no_smartphone"}),
    ("李秀英", Gender.FEMALE, date(1951, 7, 2), "13985012233", {"bedridden"}),
    ("王磊", Gender.MALE, date(1983, 11, 20), "13708512345", set()),
    ("刘芳", Gender.FEMALE, date(1986, 1, 9), "18685104321", {"pregnant"}),
    ("王子涵", Gender.MALE, date(2014, 6, 1), None, set()),
    ("陈志强", Gender.MALE, date(1975, 9, 30), "13595107788", {"key_group"}),
    ("杨丽", Gender.FEMALE, date(1979, 4, 18), "15085126600", set()),
    ("陈思雨", Gender.FEMALE, date(2009, 12, 24), "17785130011", set()),
    ("赵德明", Gender.MALE, date(1939, 2, 5), "13608519090", {"disabled"}),
    ("黄淑珍", Gender.FEMALE, date(1942, 10, 16), None, {"no_smartphone"}),
    ("周杰", Gender.MALE, date(1992, 8, 8), "18984157766", set()),
    ("吴婷婷", Gender.FEMALE, date(1995, 5, 21), "13765432109", set()),
    ("徐海涛", Gender.MALE, date(1968, 12, 3), "13885047211", set()),
    ("孙桂兰", Gender.FEMALE, date(1963, 3, 8), "15186023344", set()),
    ("马晓东", Gender.MALE, date(2001, 1, 15), "19908513377", set()),
    ("朱红梅", Gender.FEMALE, date(1971, 6, 6), "13639008765", set()),
    ("胡永刚", Gender.MALE, date(1958, 9, 9), "13908501122", set()),
    ("郭小雨", Gender.FEMALE, date(2018, 3, 3), None, set()),
    ("何建华", Gender.MALE, date(1980, 2, 29), "18785019988", set()),
    ("林静", Gender.FEMALE, date(1989, 10, 10), "15985106655", set()),
]
ROOMS = ["101", "101", "102", "102", "102", "201", "201", "201", "202", "202"]
ROOMS += ["301", "301", "302", "302", "302", "401", "401", "401", "402", "402"]


def build_world(db: Engine) -> dict[str, str]:
    """Commit a small tree with twenty named residents and two users; return useful codes."""
    with session_scope(make_sessionmaker(db)) as s:
        tree = build_tree(s)
        add_area(
            s, code="520113001003", name="金鸭社区", level=AreaLevel.COMMUNITY, parent=tree.street
        )
        other = add_area(
            s, code="520113002", name="龚家寨街道", level=AreaLevel.STREET, parent=tree.district
        )
        add_area(
            s, code="520113002001", name="白云南路社区", level=AreaLevel.COMMUNITY, parent=other
        )
        add_area(
            s,
            code="520113001001-02",
            name="优品城邦",
            level=AreaLevel.COMPOUND,
            parent=tree.community,
            latitude=26.6812,
            longitude=106.6327,
        )
        homes = {"101": tree.household}
        homes.update(
            {
                room: add_household(s, area=tree.unit, room=room)
                for room in sorted(set(ROOMS) - {"101"})
            }
        )
        people = []
        for i, ((name, gender, born, phone, flags), room) in enumerate(
            zip(PEOPLE, ROOMS, strict=True)
        ):
            people.append(
                NewResident(
                    resident_code=rules.resident_code(7_000_000 + i * 7919),
                    name=name,
                    gender=gender.value,
                    birth_date=born,
                    phone=phone,
                    id_type=rules.IdType.RESIDENT_CARD.value,
                    id_number=rules.make_resident_id("520113", born, 100 + 2 * i, gender),
                    household_id=homes[room].id,
                    registered_address="贵州省贵阳市白云区",
                    **{flag: True for flag in flags},
                )
            )
        connection = s.connection()
        rows = resident_rows(
            people, household_ancestors(connection, [h.id for h in homes.values()])
        )
        insert_residents(connection, rows, moved_in=date(2020, 9, 1))
        hasher = PasswordHasher()
        for username, role, display, area in [
            ("admin", Role.ADMIN, "区指挥部管理员", None),
            ("xinxing", Role.COMMUNITY_WORKER, "新星社区 王社工", tree.community.id),
        ]:
            s.add(
                User(
                    username=username,
                    display_name=display,
                    password_hash=hasher.hash(PASSWORD),
                    role=role.value,
                    jurisdiction_id=area,
                    is_active=True,
                    created_at=datetime.now(UTC),
                )
            )
        return {"community": tree.community.code, "unit": tree.unit.code}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def world(db: Engine) -> dict[str, str]:
    """The committed tree and users the browser signs in to."""
    return build_world(db)


@pytest.fixture
def server(database_url: str, world: dict[str, str]) -> Iterator[str]:
    """Run the real app with Uvicorn in a subprocess on a free port; yield its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "TONGXIN_DATABASE_URL": database_url,
        "TONGXIN_SECRET_KEY": "browser-test-secret-key",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tongxin.web.app:app_from_environment",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Wait for the server to answer; the deadline only bounds a broken start.
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the test server did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots on the SQLite run, a temp dir otherwise."""
    if engine_under_test() == "sqlite":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        # `make test` installs Chromium first; a bare pytest run without it skips, CI fails.
        message = "browser tests need /usr/bin/chromium (make browser-deps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
