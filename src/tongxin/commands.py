"""What every CLI command shares: its one transaction and its progress bar.

Area CLIs import this module, never `tongxin.cli`, which mounts every area.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from tongxin.db import make_engine, make_sessionmaker, session_scope
from tongxin.settings import Settings, get_settings

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


@contextmanager
def command_session(settings: Settings | None = None) -> Iterator[Session]:
    """Open the one transaction of a CLI command."""
    engine = make_engine(settings or get_settings())
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def progress_bar(
    console: Console, *, label: str = "{task.description}", disable: bool = False
) -> Progress:
    """Return the Rich progress bar long commands draw on stderr (left off the screen when done)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=disable,
    )


EXIT_USAGE = 2


def fail(zh: str, en: str) -> NoReturn:
    """Print a bilingual error on stderr and exit 2 (bad input; nothing written)."""
    typer.echo(f"错误 {zh}\nerror {en}", err=True)
    raise typer.Exit(EXIT_USAGE)


def emit(data: Any, *, as_json: bool, text: str) -> None:
    """Print a command's result: one JSON value (times as ISO text), or the human text."""
    typer.echo(json.dumps(data, ensure_ascii=False, default=str) if as_json else text)
