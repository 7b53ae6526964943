"""Schemathesis fuzzes every operation of the OpenAPI schema, in-process, on the test database.

Each operation gets a bounded, derandomized run (FUZZ_EXAMPLES cases, default 25) signed in
as the system-wide administrator and carrying a device token, so the generated requests get
past authentication and reach the code behind it. A run passes when no answer is a 5xx and
every answer matches the schema: a documented status code, its content type and its body.
Set TONGXIN_FUZZ_EXAMPLES=500 for a deeper local run (see docs/security.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from tests.factories.screening import build_round
from tests.web.conftest import add_user, sign_in
from tongxin.accounts.rules import Role
from tongxin.db import make_sessionmaker, session_scope
from tongxin.hotline.service import add_hotline
from tongxin.screening.models import DeviceToken
from tongxin.screening.setup import issue_device_token
from tongxin.settings import Settings
from tongxin.web.app import create_app

FUZZ_EXAMPLES = int(os.environ.get("TONGXIN_FUZZ_EXAMPLES", "25"))
SESSION_COOKIE = "tongxin_session"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Credentials:
    """What a fuzzed request carries: an administrator's cookie and device bearer tokens."""

    cookie: str
    site_token: str
    lab_token: str
    courier_token: str
    hotline_cookie: str

    def cookies_for(self, path: str) -> dict[str, str]:
        """The hotline API is fuzzed as a hotline supervisor of the district (the
        administrator holds no hotline permission and would only ever get 403)."""
        hotline = path.startswith("/api/v1/hotline")
        return {SESSION_COOKIE: self.hotline_cookie if hotline else self.cookie}

    def headers_for(self, path: str) -> dict[str, str]:
        """Results and the lab screen take a lab token, the courier screen a courier token,
        capture a site token; the rest ignore the header."""
        token = self.site_token
        if path.startswith(("/api/v1/results", "/api/v1/field/lab")):
            token = self.lab_token
        elif path.startswith("/api/v1/field/courier"):
            token = self.courier_token
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def fuzz_app(settings: Settings, db: Engine) -> FastAPI:
    """The app on the test database."""
    return create_app(settings, engine=db)


@pytest.fixture
def credentials(fuzz_app: FastAPI, db: Engine, password_hash: str) -> Credentials:
    """Commit a round with residents, an administrator and live tokens; sign the admin in."""
    with session_scope(make_sessionmaker(db)) as s:
        rs = build_round(s)
        add_user(s, password_hash, "admin", Role.ADMIN, display_name="管理员")
        add_user(
            s,
            password_hash,
            "sup",
            Role.HOTLINE_SUPERVISOR,
            jurisdiction_id=rs.tree.district.id,
        )
        add_hotline(
            s,
            code="QH-01",
            name="白云区求助热线",
            number="0851-1",
            organisation="白云区民政局",
            jurisdiction=rs.tree.district,
            hours="24小时",
        )
        # The factory's tokens were issued in 2022 and have expired.
        s.execute(delete(DeviceToken))
        now = datetime.now(UTC)
        site_token, _ = issue_device_token(s, round=rs.round, device="pad-1", now=now, site=rs.site)
        lab_token, _ = issue_device_token(s, round=rs.round, device="lab-1", now=now, lab=rs.lab)
        courier_token, _ = issue_device_token(
            s, round=rs.round, device="courier-1", now=now, courier=True
        )
    with TestClient(fuzz_app) as client:
        sign_in(client, "admin")
        cookie = client.cookies[SESSION_COOKIE]
    with TestClient(fuzz_app) as client:
        sign_in(client, "sup")
        hotline_cookie = client.cookies[SESSION_COOKIE]
    return Credentials(cookie, site_token, lab_token, courier_token, hotline_cookie)


@pytest.fixture
def api_schema(fuzz_app: FastAPI) -> schemathesis.BaseSchema:
    """The app's own OpenAPI schema, loaded through the app (no network)."""
    # HL7 v2 bodies are text; schemathesis sends them as it sends text/plain.
    schemathesis.serializer.alias("application/hl7-v2", "text/plain")
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    # A small bounded run on a shared machine: slow or heavily filtered generation is not a
    # finding here, and the fixtures are meant to be shared by an operation's examples.
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_match_the_schema_and_never_5xx(case, credentials: Credentials) -> None:
    """Every generated request gets a documented answer and never a server error."""
    case.call_and_validate(
        headers=credentials.headers_for(case.path),
        cookies=credentials.cookies_for(case.path),
        checks=CHECKS,
    )
