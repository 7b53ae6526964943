"""`tongxin users …`: manage sign-in accounts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer

from tongxin.accounts.rules import Role

app = typer.Typer(help="Users and sign-in.", no_args_is_help=True)


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Sign-in name."),
    role: Role = typer.Option(..., help="Role of the user."),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="Password (asked if absent).",
    ),
    display_name: str | None = typer.Option(None, help="Name shown on pages."),
    area: str | None = typer.Option(
        None, help="Code of the jurisdiction area (whole system if absent)."
    ),
    lab: str | None = typer.Option(
        None, help="Code of the lab a lab receiver works for (their lab scope)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the user as JSON."),
) -> None:
    """Create a user with a role and a jurisdiction."""
    from tongxin.accounts.service import AccountError, create_user
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.registry.service import RegistryError, area_by_code
    from tongxin.screening.setup import SetupError, lab_by_code

    try:
        with command_session() as session:
            jurisdiction = area_by_code(session, area) if area else None
            lab_id = lab_by_code(session, lab).id if lab else None
            user = create_user(
                session,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                jurisdiction=jurisdiction,
                lab_id=lab_id,
            )
            out = {
                "id": user.id,
                "username": user.username,
                "role": user.role,
                "area": area,
                "lab": lab,
            }
            record_command(
                session,
                action="accounts.user.create",
                target_type="user",
                target_id=user.username,
                area=jurisdiction,
                after=out,
            )
    except (AccountError, RegistryError, SetupError) as exc:
        typer.echo(f"error [{exc.code}]: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        json.dumps(out, ensure_ascii=False)
        if as_json
        else f"created user {username} ({role.value})"
    )


def _set_active(username: str, *, active: bool, as_json: bool) -> None:
    from tongxin.accounts.service import AccountError, set_user_active
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session

    try:
        with command_session() as session:
            user = set_user_active(session, username=username, active=active, now=datetime.now(UTC))
            out = {"username": user.username, "is_active": user.is_active}
            record_command(
                session,
                action="accounts.user.enable" if active else "accounts.user.disable",
                target_type="user",
                target_id=user.username,
                area=user.jurisdiction_id,
                after={"is_active": active},
            )
    except AccountError as exc:
        typer.echo(f"error [{exc.code}]: {exc}", err=True)
        raise typer.Exit(2) from None
    state = "enabled" if active else "disabled (open sessions end at their next request)"
    typer.echo(json.dumps(out) if as_json else f"user {username} {state}")


@app.command("disable")
def disable(
    username: str = typer.Argument(..., help="Sign-in name."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Disable a user: no sign-in, and their open sessions end at the next request."""
    _set_active(username, active=False, as_json=as_json)


@app.command("enable")
def enable(
    username: str = typer.Argument(..., help="Sign-in name."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Enable a disabled user again."""
    _set_active(username, active=True, as_json=as_json)


@app.command("reset-password")
def reset_password(
    username: str = typer.Argument(..., help="Sign-in name."),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="New password (asked if absent).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Give a user a new password under the policy and end their open sessions."""
    from tongxin.accounts.service import AccountError
    from tongxin.accounts.service import reset_password as reset
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session

    try:
        with command_session() as session:
            user = reset(session, username=username, password=password, now=datetime.now(UTC))
            out = {"username": user.username, "password_reset": True}
            record_command(
                session,
                action="accounts.user.password_reset",
                target_type="user",
                target_id=user.username,
                area=user.jurisdiction_id,
            )
    except AccountError as exc:
        typer.echo(f"error [{exc.code}]: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(out) if as_json else f"password of {username} reset; sessions ended")
