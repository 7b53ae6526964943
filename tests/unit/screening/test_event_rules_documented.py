"""The field-event contract stays documented: JSON Schema file and rejection codes."""

from __future__ import annotations

import json
from pathlib import Path

from tongxin.screening.checks import REJECTION_CODES
from tongxin.screening.schemas import EVENT_ADAPTER

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_committed_event_schema_equals_the_generated_one():
    generated = EVENT_ADAPTER.json_schema(by_alias=True)
    committed = json.loads((DOCS / "event.schema.json").read_text(encoding="utf-8"))
    assert committed == generated, "regenerate docs/event.schema.json (see docs/api.md)"


def test_every_rejection_code_is_documented_in_docs_api_md():
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    assert [c for c in REJECTION_CODES if f"| `{c}` |" not in text] == []
