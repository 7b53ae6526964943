"""Who is acting and from where: built once per request or command, passed to every record().

The chain key travels with the actor so call sites hand over one thing; it never reaches
the database.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tongxin.settings import Settings, get_settings

if TYPE_CHECKING:
    from starlette.requests import Request

    from tongxin.accounts.models import User


@dataclass(frozen=True)
class Actor:
    """The author of audited actions: `name` (username, `device:<id>` or `cli:<os user>`)."""

    name: str
    role: str | None
    source: str | None
    key: str | None = field(default=None, repr=False)


def _client_host(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


def _key(settings: Settings) -> str | None:
    return settings.audit_key or None


def web_actor(request: Request, user: User) -> Actor:
    """Return the signed-in user of a request, seen from the client's address."""
    return Actor(
        name=user.username,
        role=user.role,
        source=_client_host(request),
        key=_key(request.app.state.settings),
    )


def device_actor(request: Request, device: str) -> Actor:
    """Return a field or lab device (authenticated by its token) as the actor of a request."""
    return Actor(
        name=f"device:{device}",
        role=None,
        source=_client_host(request) or device,
        key=_key(request.app.state.settings),
    )


def cli_actor(settings: Settings | None = None) -> Actor:
    """Return the operating-system user running a `tongxin` command."""
    settings = settings or get_settings()
    try:
        who = getpass.getuser()
    except OSError:
        # No login name in some containers; the uid still says who ran it.
        who = f"uid{os.getuid()}"
    return Actor(name=f"cli:{who}", role=None, source="cli", key=_key(settings))
