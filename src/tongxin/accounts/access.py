"""Who may do what where: a user's scope, and the checks CLI commands acting for a user run.

Web routes check permissions with `tongxin.web.deps.requires`; both paths end in `scope_of`,
so a page, an API call and a CLI export of the same user see the same residents.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.accounts.models import User
from tongxin.accounts.rules import Permission, Role, may
from tongxin.accounts.service import AccountError
from tongxin.registry.models import Area
from tongxin.registry.queries import Scope

# Roles whose work spans the whole system when they have no jurisdiction node. Everyone else
# without a jurisdiction sees no registry data until an administrator assigns one.
SYSTEM_WIDE_ROLES = frozenset({Role.ADMIN, Role.COMMANDER, Role.HEALTH_OFFICER})


def scope_of(session: Session, user: User) -> Scope:
    """Turn a user into the part of the area tree they may see.

    This is the one place where jurisdiction becomes a filter. Other kinds of place narrow a
    user through their own column (`User.lab_id` now): screening reads it where it lists
    boxes and results, and a user with such a place and no area sees no residents.
    """
    if user.jurisdiction_id is None:
        if user.lab_id is None and user.role in SYSTEM_WIDE_ROLES:
            return Scope.everything()
        return Scope.nothing()
    area = session.get(Area, user.jurisdiction_id)
    return Scope.under(area) if area is not None else Scope.nothing()


def acting_user(session: Session, username: str, permission: Permission) -> tuple[User, Scope]:
    """Return the active user a CLI command acts for and their scope, or raise AccountError."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise AccountError("unknown_user", f"no active user {username!r}")
    if not may(user.role, permission):
        raise AccountError(
            "forbidden", f"user {username!r} ({user.role}) may not {permission.value}"
        )
    return user, scope_of(session, user)
