"""`tongxin tokens` commands: device tokens for a round and a site, a lab or a courier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer

from tongxin.commands import emit, fail
from tongxin.screening.cli_setup import round_or_fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tongxin.screening.models import DeviceToken

app = typer.Typer(help="Device tokens for field devices.", no_args_is_help=True)


@app.command("issue")
def tokens_issue(
    round_code: str = typer.Option(..., "--round", help="Round code."),
    site: str | None = typer.Option(None, "--site", help="Site code (sampling devices)."),
    lab: str | None = typer.Option(None, "--lab", help="Lab code (lab receipt and results)."),
    courier: str | None = typer.Option(
        None,
        "--courier",
        help="Courier's code (pick-ups with a site's PIN, delivery to a lab); the device name.",
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        help="Device name, e.g. pad-07 (default: the site or lab code and a suffix).",
    ),
    hours: float = typer.Option(36, "--hours", help="Hours until the token expires."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Issue a bearer token for a device and print it once (only its hash is stored)."""
    from sqlalchemy import select

    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.screening.models import Lab, RoundLab, Site
    from tongxin.screening.setup import SetupError, issue_device_token

    if sum(x is not None for x in (site, lab, courier)) != 1:
        fail(
            "须且只能给出 --site、--lab 或 --courier 之一",
            "give exactly one of --site, --lab or --courier",
        )
    if courier is not None:
        if device is not None and device != courier:
            fail("转运员的设备名就是 --courier", "a courier's device name is its --courier code")
        device = courier
    if hours <= 0:
        fail(f"--hours 须大于 0:{hours}", f"--hours must be above 0: {hours}")
    if device is None:
        import secrets

        device = f"{site or lab}-{secrets.token_hex(2)}"
    now = datetime.now(UTC)
    with command_session() as session:
        rnd = round_or_fail(session, round_code)
        site_row = lab_row = None
        if site is not None:
            site_row = session.scalar(
                select(Site).where(Site.round_id == rnd.id, Site.code == site)
            )
            if site_row is None:
                fail(
                    f"轮次 {round_code} 没有采样点 {site}",
                    f"round {round_code} has no site {site!r}",
                )
        elif lab is not None:
            lab_row = session.scalar(
                select(Lab)
                .join(RoundLab, RoundLab.lab_id == Lab.id)
                .where(RoundLab.round_id == rnd.id, Lab.code == lab)
            )
            if lab_row is None:
                fail(
                    f"轮次 {round_code} 未使用实验室 {lab}",
                    f"round {round_code} does not use lab {lab!r}",
                )
        try:
            token, row = issue_device_token(
                session,
                round=rnd,
                device=device,
                now=now,
                site=site_row,
                lab=lab_row,
                courier=courier is not None,
                valid_for=timedelta(hours=hours),
            )
        except SetupError as exc:
            fail(f"无法发放令牌:{exc}", f"cannot issue the token: {exc} [{exc.code}]")
        out = {
            "id": row.id,
            "token": token,
            "device": device,
            "round": round_code,
            "site": site,
            "lab": lab,
            "courier": courier,
            "expires_at": row.expires_at.isoformat(),
        }
        # Never the token itself: it is a bearer secret shown once.
        record_command(
            session,
            action="screening.token.issue",
            target_type="device_token",
            target_id=row.id,
            area=_token_area(session, row),
            after={k: v for k, v in out.items() if k != "token"},
        )
    emit(
        out,
        as_json=as_json,
        text=f"{token}\n令牌 #{out['id']} 仅显示这一次,{out['expires_at']} 过期\n"
        f"token #{out['id']} is shown only this once; it expires {out['expires_at']}",
    )


@app.command("revoke")
def tokens_revoke(
    token_id: int = typer.Argument(..., help="The token's id, as printed when it was issued."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Revoke a device token at once."""
    from tongxin.audit.service import record_command
    from tongxin.commands import command_session
    from tongxin.screening.models import DeviceToken
    from tongxin.screening.setup import SetupError, revoke_device_token

    with command_session() as session:
        try:
            revoke_device_token(session, token_id=token_id, now=datetime.now(UTC))
        except SetupError:
            fail(f"没有编号为 {token_id} 的设备令牌", f"no device token {token_id}")
        row = session.get(DeviceToken, token_id)
        assert row is not None
        record_command(
            session,
            action="screening.token.revoke",
            target_type="device_token",
            target_id=token_id,
            area=_token_area(session, row),
            after={"device": row.device, "revoked": True},
        )
    emit(
        {"id": token_id, "revoked": True},
        as_json=as_json,
        text=f"已吊销令牌 #{token_id}\nrevoked token #{token_id}",
    )


def _token_area(session: Session, row: DeviceToken) -> int:
    """Return the id of the area a token concerns: its site's area, else its round's district."""
    from tongxin.screening.models import Round, Site

    if row.site_id is not None:
        site = session.get(Site, row.site_id)
        if site is not None:
            return site.area_id
    rnd = session.get(Round, row.round_id)
    assert rnd is not None
    return rnd.district_id
