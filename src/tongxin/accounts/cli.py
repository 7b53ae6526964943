"""`tongxin users …`: manage sign-in accounts."""

from __future__ import annotations

import json

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
