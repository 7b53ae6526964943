"""The field PWA in headless Chromium: offline sampling, rejections, boxes, phone layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.browser.field_flows import (
    HANDHELD,
    open_field_app,
    sample_and_seal,
    server_counts,
    stage_field_round,
)

pytestmark = pytest.mark.browser


def test_online_sampler_part_matches_the_server_counts(
    server: str, browser: Any, db: Engine, world: dict[str, str], screenshot_dir: Path
) -> None:
    fr = stage_field_round(db, world["community"])
    page = open_field_app(browser, server, fr)

    sample_and_seal(page, fr)

    counts = server_counts(db, fr)
    assert counts["people_sampled"] == 25
    assert counts["tube_members"] == 25
    assert counts["tubes_closed"] == 3
    assert counts["boxes_sealed"] == 1
    assert counts["tubes_in_sealed_boxes"] == 3
    assert counts["rejected_events"] == 0
