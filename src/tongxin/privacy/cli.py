"""`tongxin keys …`: make personal-data keys, re-encrypt under the current key, count per key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import typer

app = typer.Typer(help="Personal-data encryption keys.", no_args_is_help=True)

EXIT_USAGE = 2


def _fail(code: str, message: str) -> NoReturn:
    typer.echo(f"error [{code}]: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


@app.command("generate")
def keys_generate(
    file: Path | None = typer.Option(
        None, "--file", help="Add the key to this key file (created with a lookup key if absent)."
    ),
    standby: bool = typer.Option(
        False, "--standby", help="Append the key to the file as a readable, not yet current, key."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make a new 256-bit key: print its key line, or add it to a key file."""
    from tongxin.privacy.crypto import KeyRingError, key_line, new_key, new_key_id
    from tongxin.privacy.keys import write_key_file

    if file is None:
        if standby:
            _fail("usage", "--standby needs --file")
        kid = new_key_id()
        line = key_line(kid, new_key())
        typer.echo(json.dumps({"kid": kid, "line": line}) if as_json else line)
        return
    try:
        kid = write_key_file(file, standby=standby)
    except KeyRingError as exc:
        _fail(exc.code, exc.message)
    out = {"kid": kid, "file": str(file), "current": not standby}
    text = f"key {kid} added to {file}" + (" (standby)" if standby else " (current)")
    typer.echo(json.dumps(out) if as_json else text)


@app.command("rotate")
def keys_rotate(
    batch: int = typer.Option(1000, "--batch", min=1, help="Rows per transaction."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Re-encrypt every sealed value under the current key, one committed batch at a time."""
    from rich.console import Console

    from tongxin.commands import progress_bar
    from tongxin.db import make_engine, make_sessionmaker, session_scope
    from tongxin.privacy.crypto import KeyRingError
    from tongxin.privacy.keys import ring_of
    from tongxin.privacy.service import SOURCES, count_rows, rotate_batch
    from tongxin.settings import get_settings

    err = Console(stderr=True)
    totals: dict[str, dict[str, int]] = {}
    engine = make_engine(get_settings())
    factory = make_sessionmaker(engine)
    try:
        with session_scope(factory) as session:
            current = ring_of(session).current
            sizes = {s.name: count_rows(session, s) for s in SOURCES}
        with progress_bar(err, disable=as_json) as bar:
            for source in SOURCES:
                task = bar.add_task(source.name, total=sizes[source.name])
                after, scanned, resealed = 0, 0, 0
                while True:
                    # One transaction per batch: locks are short and work done stays done.
                    with session_scope(factory) as session:
                        step = rotate_batch(session, source=source, after=after, limit=batch)
                    if not step.scanned:
                        break
                    after = step.last
                    scanned += step.scanned
                    resealed += step.resealed
                    bar.advance(task, step.scanned)
                totals[source.name] = {"scanned": scanned, "resealed": resealed}
    except KeyRingError as exc:
        _fail(exc.code, exc.message)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"current": current, "sources": totals}))
        return
    for name, t in totals.items():
        typer.echo(f"{name}: {t['resealed']} of {t['scanned']} re-encrypted under {current}")


@app.command("status")
def keys_status(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Count the sealed values under each key id, per place they are stored."""
    from tongxin.commands import command_session
    from tongxin.privacy.crypto import KeyRingError
    from tongxin.privacy.keys import ring_of
    from tongxin.privacy.service import key_counts

    try:
        with command_session() as session:
            ring = ring_of(session)
            counts = key_counts(session)
    except KeyRingError as exc:
        _fail(exc.code, exc.message)
    out = {"current": ring.current, "keys": sorted(ring.keys), "sources": counts}
    if as_json:
        typer.echo(json.dumps(out))
        return
    typer.echo(f"current key: {ring.current}; keys in the ring: {', '.join(sorted(ring.keys))}")
    for name, per_key in counts.items():
        shown = ", ".join(f"{k}: {n}" for k, n in per_key.items()) or "none"
        typer.echo(f"{name}: {shown}")
