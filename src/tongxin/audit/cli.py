"""`tongxin audit …`: verify the hash chain and list entries."""

from __future__ import annotations

import json
from typing import Any

import typer

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

EXIT_BROKEN = 1


@app.command("verify")
def verify_chain(
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Walk the whole chain; exit 1 naming the first broken entry when any was tampered with."""
    from tongxin.audit.service import verify
    from tongxin.commands import command_session
    from tongxin.settings import get_settings

    settings = get_settings()
    with command_session(settings) as session:
        verdict = verify(session, key=settings.audit_key)
    out: dict[str, Any] = {"intact": verdict.broken is None, "checked": verdict.checked}
    if verdict.broken is None:
        out["head"] = {"number": verdict.head_number, "hash": verdict.head_hash}
        text = (
            f"审计日志完整:已核验 {verdict.checked} 条\n"
            f"audit log intact: {verdict.checked} entries checked"
            + (f"; head {verdict.head_number} {verdict.head_hash}" if verdict.head_hash else "")
        )
    else:
        b = verdict.broken
        out["broken"] = {
            "number": b.number,
            "found": b.found,
            "problem": b.problem.value,
            "message": b.describe(),
        }
        text = (
            f"审计日志在第 {b.number} 条处断裂\n"
            f"audit log broken at entry {b.number}: {b.describe()}"
        )
    typer.echo(json.dumps(out, ensure_ascii=False) if as_json else text)
    if verdict.broken is not None:
        raise typer.Exit(EXIT_BROKEN)


@app.command("list")
def list_entries(
    action: str | None = typer.Option(
        None, "--action", help="Action code or dotted prefix, e.g. screening.round."
    ),
    actor: str | None = typer.Option(None, "--actor", help="Username, device:ID or cli:USER."),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="Newest N entries."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """List the newest entries (the operator at the console sees the whole log)."""
    from tongxin.audit.service import AuditFilters, search
    from tongxin.commands import command_session
    from tongxin.registry.queries import Scope

    with command_session() as session:
        page = search(
            session,
            scope=Scope.everything(),
            filters=AuditFilters(actor=actor, action=action),
            limit=limit,
        )
        rows = [
            {
                "number": e.number,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "actor_role": e.actor_role,
                "source": e.source,
                "action": e.action,
                "target": f"{e.target_type}:{e.target_id}",
                "area_id": e.area_id,
                "summary": e.summary,
            }
            for e in page.entries
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        summary = json.dumps(r["summary"], ensure_ascii=False)
        typer.echo(
            f"{r['number']}\t{r['at']}\t{r['actor']}\t{r['source'] or ''}\t"
            f"{r['action']}\t{r['target']}\t{summary}"
        )
