from pathlib import Path
from typing import Any

import typer.main

from tongxin.cli import build

DOCS = Path(__file__).resolve().parents[3] / "docs" / "cli.md"


def _leaf_commands(command: Any, prefix: str) -> list[str]:
    # Typer groups expose `commands`; plain commands do not.
    if hasattr(command, "commands"):
        out: list[str] = []
        for name, sub in command.commands.items():
            out.extend(_leaf_commands(sub, f"{prefix} {name}"))
        return out
    return [prefix]


def test_every_cli_command_is_documented_in_docs_cli_md():
    commands = _leaf_commands(typer.main.get_command(build()), "tongxin")
    text = DOCS.read_text(encoding="utf-8")
    assert len(commands) > 5
    assert [c for c in commands if f"`{c}" not in text] == []
