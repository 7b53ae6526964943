"""docs/import.md documents every accepted header and every problem code."""

import re
from pathlib import Path

from tongxin.registry.import_messages import MESSAGES, PROBLEM_CODES
from tongxin.registry.template import COLUMNS

DOCS = Path(__file__).resolve().parents[3] / "docs" / "import.md"


def test_every_header_and_alias_is_in_the_template_table():
    text = DOCS.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line
        for line in text.splitlines()
        if line.startswith("| ") and line.count("|") >= 6
    }
    for column in COLUMNS:
        assert column.zh in rows, column.zh
        line = rows[column.zh]
        assert f"| {column.en} |" in line, column.en
        for alias in column.aliases:
            assert alias in line, alias


def test_every_problem_code_is_explained():
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    assert documented == set(PROBLEM_CODES)


def test_every_code_has_messages_in_both_languages():
    for code in PROBLEM_CODES:
        zh, en = MESSAGES[code]
        assert zh and en and zh != en
