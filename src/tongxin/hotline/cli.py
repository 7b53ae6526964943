"""`tongxin hotline` commands: hotlines and routing rules, statistics, escalation, evaluation.

Every command takes `--json`. Bad input names the bad value on stderr in Chinese and English
and exits 2 with nothing written (the command's one transaction rolls back).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import typer

from tongxin.commands import command_session, emit, fail

app = typer.Typer(
    help="Help hotlines: hotlines, routing, statistics, escalation.", no_args_is_help=True
)

CHINA = timezone(timedelta(hours=8))


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(f"{name} 日期格式应为 YYYY-MM-DD:{raw}", f"{name} must be YYYY-MM-DD, got {raw!r}")


@app.command("add")
def add(
    code: str = typer.Argument(..., help="Code of the hotline, e.g. BY-QH-01."),
    name: str = typer.Option(..., help="Name, e.g. 泉湖街道求助热线."),
    number: str = typer.Option(..., help="Telephone number callers dial."),
    organisation: str = typer.Option(..., help="Who runs it (street office, civil affairs …)."),
    area: str = typer.Option(..., help="Code of the area node it answers for."),
    hours: str = typer.Option("24小时", help="Opening hours as people say them."),
    operator: list[str] = typer.Option([], help="User name of an operator (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a hotline with its jurisdiction and operators."""
    from sqlalchemy import select

    from tongxin.accounts.models import User
    from tongxin.hotline.service import HotlineError, add_hotline
    from tongxin.registry.service import RegistryError, area_by_code

    with command_session() as session:
        try:
            node = area_by_code(session, area)
        except RegistryError:
            fail(f"区域不存在:{area}", f"no area {area!r}")
        users = []
        for username in operator:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                fail(f"用户不存在:{username}", f"no user {username!r}")
            users.append(user)
        try:
            hotline = add_hotline(
                session,
                code=code,
                name=name,
                number=number,
                organisation=organisation,
                jurisdiction=node,
                hours=hours,
                operators=users,
            )
        except HotlineError as exc:
            fail(f"热线已存在:{code}", exc.message)
        emit(
            {"code": hotline.code, "id": hotline.id, "operators": operator},
            as_json=as_json,
            text=f"hotline {hotline.code} created",
        )


@app.command("route")
def route(
    area: str = typer.Option(..., help="Code of the area whose cases the rule covers."),
    desk: str = typer.Option(..., help="Name of the desk that answers, e.g. 民政办."),
    category: str | None = typer.Option(None, help="Only this category (default: any)."),
    responsible: str | None = typer.Option(None, help="Area code the desk belongs to."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a routing rule: cases under AREA (of CATEGORY) go to DESK."""
    from tongxin.hotline.rules import Category
    from tongxin.hotline.service import add_route
    from tongxin.registry.service import RegistryError, area_by_code

    chosen: Category | None = None
    if category is not None:
        try:
            chosen = Category(category)
        except ValueError:
            known = ", ".join(c.value for c in Category)
            fail(f"类别无效:{category}", f"category must be one of {known}, got {category!r}")
    with command_session() as session:
        try:
            node = area_by_code(session, area)
            owner = area_by_code(session, responsible) if responsible else node
        except RegistryError as exc:
            fail(f"区域不存在:{exc}", str(exc))
        rule = add_route(session, area=node, category=chosen, desk=desk, responsible=owner)
        emit(
            {"id": rule.id, "area": area, "category": category, "desk": desk},
            as_json=as_json,
            text=f"route {rule.id}: {area} {category or '*'} -> {desk}",
        )


@app.command("stats")
def stats(
    start: str = typer.Option(..., "--from", help="First day (China time), YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day included (China time), YYYY-MM-DD."),
    xlsx: Path | None = typer.Option(None, help="Also write the figures to this xlsx file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print received, resolved, median hours to resolve and overdue per group."""
    from tongxin.hotline.board import statistics
    from tongxin.hotline.exports import write_statistics
    from tongxin.registry.queries import Scope

    first, last = _day(start, "--from"), _day(end, "--to")
    if last < first:
        fail("--to 早于 --from", "--to is before --from")
    begin = datetime.combine(first, time(), CHINA).astimezone(UTC)
    finish = datetime.combine(last + timedelta(days=1), time(), CHINA).astimezone(UTC)
    with command_session() as session:
        figures = statistics(
            session,
            scope=Scope.everything(),
            user_id=None,
            start=begin,
            end=finish,
            now=datetime.now(UTC),
        )
        if xlsx is not None:
            with xlsx.open("wb") as out:
                write_statistics(figures, out, by="cli", at=datetime.now(UTC))
    total = figures.total
    emit(
        figures.as_dict(),
        as_json=as_json,
        text=(
            f"{first}..{last}: received {total.received}, resolved {total.resolved}, "
            f"median {total.median_hours} h, overdue {total.overdue}"
        ),
    )


@app.command("escalate")
def escalate(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Escalate cases that fell overdue and notify supervisors (run every few minutes)."""
    from tongxin.hotline.deadlines import escalate_overdue
    from tongxin.hotline.notify import notifier_from
    from tongxin.settings import get_settings

    settings = get_settings()
    notifier = notifier_from(settings.hotline_webhook_url, settings.hotline_webhook_timeout_s)
    with command_session() as session:
        done = escalate_overdue(session, now=datetime.now(UTC), notifier=notifier)
    emit(
        {"escalated": done.cases, "notified": done.notified, "error": done.error},
        as_json=as_json,
        text=f"escalated {len(done.cases)} case(s); notified: {done.notified}",
    )


@app.command("evaluate")
def evaluate(
    part: str = typer.Option("held_out", help="held_out, train or all."),
    misses: bool = typer.Option(False, help="List the descriptions it got wrong."),
    as_markdown: bool = typer.Option(
        False, "--markdown", help="Print the block docs/hotline.md carries."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Score the category/urgency suggestion on the labelled set (held-out part by default)."""
    from tongxin.hotline.evaluation import evaluate as run
    from tongxin.hotline.evaluation import markdown

    if part not in ("held_out", "train", "all"):
        fail(f"part 无效:{part}", f"--part must be held_out, train or all, got {part!r}")
    if as_markdown:
        typer.echo(markdown(run(part)), nl=False)
        return
    scores = run(part).as_dict()
    if not misses:
        scores.pop("misses")
    emit(
        scores,
        as_json=as_json,
        text=(
            f"{part}: {scores['size']} descriptions, category {scores['category_accuracy']:.1%}, "
            f"urgency {scores['urgency_accuracy']:.1%}, both {scores['both_accuracy']:.1%}"
        ),
    )
