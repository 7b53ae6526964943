"""Web fixtures: a committed small tree with residents and users, and a test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.factories.registry import add_residents, build_tree
from tests.factories.screening import build_round
from tests.integration.screening.custody import (
    T0,
    close,
    complete_round,
    hand_over,
    rejected_event,
    residents,
    seal,
    swab,
)
from tongxin.accounts.models import User
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Resident
from tongxin.settings import Settings
from tongxin.web.app import create_app
from tongxin.web.csrf import token_in_page

PASSWORD = "tongxin-test-1"


@dataclass(frozen=True)
class World:
    """Codes of the committed test tree; residents 0-29 live in 新星社区, 100-104 in 尖山社区."""

    district: str
    street: str
    community: str
    other_community: str
    building: str
    other_building: str
    unit: str
    codes: dict[str, str]  # resident name -> resident code


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Hash the test password once: argon2 is slow on purpose, and tests add users often."""
    return PasswordHasher().hash(PASSWORD)


def add_user(
    session: Session,
    password_hash: str,
    username: str,
    role: Role,
    *,
    display_name: str | None = None,
    jurisdiction_id: int | None = None,
) -> None:
    """Add a user with a precomputed hash (create_user itself is tested with accounts)."""
    session.add(
        User(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            role=role.value,
            jurisdiction_id=jurisdiction_id,
            is_active=True,
            created_at=datetime.now(UTC),
        )
    )
    session.flush()


@pytest.fixture
def world(db: Engine, password_hash: str) -> World:
    """Commit the small tree, 35 residents and three users (admin, worker, sampler)."""
    with session_scope(make_sessionmaker(db)) as s:
        tree = build_tree(s)
        add_residents(s, tree.household, 30)
        add_residents(s, tree.other_household, 5, start=100)
        add_user(s, password_hash, "admin", Role.ADMIN, display_name="管理员")
        add_user(
            s,
            password_hash,
            "worker",
            Role.COMMUNITY_WORKER,
            display_name="王社工",
            jurisdiction_id=tree.community.id,
        )
        add_user(s, password_hash, "sampler", Role.SAMPLER)
        codes = dict(s.execute(select(Resident.name, Resident.resident_code)).tuples().all())
        return World(
            district=tree.district.code,
            street=tree.street.code,
            community=tree.community.code,
            other_community=tree.other_community.code,
            building=tree.building.code,
            other_building=tree.other_building.code,
            unit=tree.unit.code,
            codes=codes,
        )


@pytest.fixture
def small_pages(settings: Settings) -> Settings:
    """Settings with ten rows per page, so 30 residents span three pages."""
    return settings.model_copy(update={"page_size": 10})


@pytest.fixture
def client(small_pages: Settings, db: Engine) -> Iterator[TestClient]:
    """A client of the app on the test database (signed out)."""
    with TestClient(create_app(small_pages, engine=db)) as c:
        yield c


def form_token(client: TestClient, page: str = "/") -> str:
    """Read the CSRF token from a page's form, as a browser submitting that form would.

    "/" shows the sign-out form when signed in and redirects to the sign-in form otherwise.
    """
    token = token_in_page(client.get(page).text)
    assert token, f"no form with a CSRF token on {page}"
    return token


def post_form(
    client: TestClient,
    url: str,
    data: dict[str, Any] | None = None,
    *,
    page: str = "/",
    **kwargs: Any,
) -> Response:
    """Post a form with the CSRF token the page gave the browser."""
    return client.post(url, data={**(data or {}), "csrf_token": form_token(client, page)}, **kwargs)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Sign a client in through the sign-in form and check the redirect home."""
    response = post_form(
        client,
        "/login",
        {"username": username, "password": password},
        page="/login",
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"


@pytest.fixture
def admin(client: TestClient, world: World) -> TestClient:
    """The client signed in as the system-wide administrator."""
    sign_in(client, "admin")
    return client


@pytest.fixture
def worker(client: TestClient, world: World) -> TestClient:
    """The client signed in as a community worker of 新星社区."""
    sign_in(client, "worker")
    return client


@pytest.fixture
def staged(db, password_hash):
    """Commit a whole chain with a positive tube, a box stuck in transit, a rejected event."""
    with session_scope(make_sessionmaker(db)) as s:
        r = build_round(s)
        complete_round(s, r)
        add_residents(s, r.tree.other_household, 3, start=100)
        swab(s, r, r.tubes10[5], residents(s)[30:], station=1)
        close(s, r.tubes10[5])
        in_transit = seal(s, r, "B9", [r.tubes10[5]], station=1)
        hand_over(s, r, in_transit, at=T0 + timedelta(hours=1))
        event = rejected_event(
            s, r, code="tube_full", payload={"type": "swab_taken", "tube": r.tubes10[0]}
        )
        add_user(s, password_hash, "admin", Role.ADMIN, display_name="管理员")
        add_user(
            s, password_hash, "worker", Role.COMMUNITY_WORKER, jurisdiction_id=r.tree.community.id
        )
        add_user(
            s,
            password_hash,
            "other",
            Role.COMMUNITY_WORKER,
            jurisdiction_id=r.tree.other_community.id,
        )
        add_user(s, password_hash, "nobody", Role.VOLUNTEER)
        return {
            "tubes10": r.tubes10,
            "event": event.id,
            "positive": r.tubes10[1],
            "positive_names": [p.name for p in residents(s)[10:20]],
        }
