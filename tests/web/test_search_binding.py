"""Resident search takes SQL-ish and odd input as plain text, on the page and the API.

Names are searched by range, phone and ID suffixes by bound LIKE patterns of validated
characters: `' OR 1=1 --`, `%`, `_` and `\\` match only names that really start with them.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine

from tests.web.conftest import World
from tongxin.db import make_sessionmaker, session_scope
from tongxin.registry.models import Resident

# Residents 0-8 of the test world are renamed to these.
ODD_NAMES = [
    "' OR 1=1 --",
    "%前缀",
    "_前缀",
    "\\前缀",
    "前缀%",
    "前缀_",
    "前缀X",
    "前缀\\",
    "甲\U0010ffff乙",
]


@pytest.fixture
def odd(db: Engine, world: World) -> World:
    """The test world with residents 0-8 renamed to ODD_NAMES."""
    with session_scope(make_sessionmaker(db)) as s:
        for i, name in enumerate(ODD_NAMES):
            s.execute(
                update(Resident)
                .where(Resident.resident_code == world.codes[f"居民{i}"])
                .values(name=name)
            )
    return world


def api_names(client: TestClient, **params: str) -> list[str]:
    response = client.get("/api/v1/residents", params={**params, "limit": "200"})
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


def page_names(client: TestClient, **params: str) -> list[str]:
    response = client.get("/residents", params=params)
    assert response.status_code == 200, response.text
    found = re.findall(r'<a href="/residents/[^"]+" class="strong">([^<]*)</a>', response.text)
    return sorted(unescape(n) for n in found)


SEARCHES = [
    ("' OR 1=1 --", ["' OR 1=1 --"]),
    ("'", ["' OR 1=1 --"]),
    ("%", ["%前缀"]),
    ("_", ["_前缀"]),
    ("\\", ["\\前缀"]),
    ("前缀%", ["前缀%"]),
    ("前缀_", ["前缀_"]),
    ("前缀\\", ["前缀\\"]),
    ("前缀", ["前缀%", "前缀X", "前缀\\", "前缀_"]),
    ("甲\U0010ffff", ["甲\U0010ffff乙"]),
    ("\U0010ffff", []),
    ("\ud7ff", []),
    ("x' OR '1'='1", []),
]


@pytest.mark.parametrize(("term", "expected"), SEARCHES)
def test_name_search_matches_odd_characters_literally(admin, odd, term, expected):
    assert api_names(admin, name=term) == sorted(expected)
    assert page_names(admin, name=term) == sorted(expected)


@pytest.mark.parametrize("field", ["phone", "id_suffix"])
@pytest.mark.parametrize("term", ["' OR 1=1 --", "%%%%", "____", "\\\\\\\\", "1%", "0000%"])
def test_suffix_searches_refuse_anything_but_their_characters(admin, odd, field, term):
    api = admin.get("/api/v1/residents", params={field: term})
    page = admin.get("/residents", params={field: term})

    assert api.status_code == 422
    assert api.json()["detail"][0]["loc"] == ["query", field]
    assert page.status_code == 400
    assert 'role="alert"' in page.text


def test_area_and_building_codes_are_looked_up_not_matched(admin, odd):
    assert admin.get("/api/v1/residents", params={"area": "' OR 1=1 --"}).status_code == 404
    assert admin.get("/api/v1/residents", params={"area": "%"}).status_code == 404
    assert admin.get("/api/v1/residents", params={"building": "%"}).status_code == 422
    assert admin.get("/api/v1/areas/%25").status_code == 404
    assert admin.get("/api/v1/residents/%25").status_code == 404


def test_a_nul_in_a_search_or_a_path_is_refused_not_a_server_error(admin, odd):
    # PostgreSQL text cannot hold NUL; the request is refused before any lookup.
    api = admin.get("/api/v1/residents?name=%00")
    page = admin.get("/residents?name=a%00")

    assert api.status_code == 422
    assert api.json()["detail"][0]["type"] == "null_character"
    assert page.status_code == 400
    assert admin.get("/api/v1/residents/a%00b").status_code == 404
    assert admin.get("/residents/a%00b").status_code == 404
    assert admin.get("/areas/%00").status_code == 404
