"""Pure account decisions: roles, what each role may do, and password policy."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """Roles from the domain brief, plus an administrator."""

    ADMIN = "admin"
    COMMANDER = "commander"
    HEALTH_OFFICER = "health_officer"
    COMMUNITY_WORKER = "community_worker"
    SAMPLER = "sampler"
    COURIER = "courier"
    LAB_RECEIVER = "lab_receiver"
    HOTLINE_OPERATOR = "hotline_operator"
    SUPPLIES_OFFICER = "supplies_officer"
    VOLUNTEER = "volunteer"
    MARKET_INSPECTOR = "market_inspector"
    RESIDENT = "resident"


ROLE_LABELS_ZH: dict[Role, str] = {
    Role.ADMIN: "系统管理员",
    Role.COMMANDER: "指挥部",
    Role.HEALTH_OFFICER: "卫健局",
    Role.COMMUNITY_WORKER: "社区工作者",
    Role.SAMPLER: "采样人员",
    Role.COURIER: "转运人员",
    Role.LAB_RECEIVER: "检测机构接收员",
    Role.HOTLINE_OPERATOR: "热线接线员",
    Role.SUPPLIES_OFFICER: "物资专员",
    Role.VOLUNTEER: "志愿者",
    Role.MARKET_INSPECTOR: "市场监管员",
    Role.RESIDENT: "居民",
}


class Permission(StrEnum):
    """One thing a user may do. Where it applies is the user's scope (see web.deps.scope_of)."""

    # Registry: the area tree, households and residents (ID numbers and phones masked).
    REGISTRY_READ = "registry.read"
    REGISTRY_WRITE = "registry.write"
    REGISTRY_IMPORT = "registry.import"
    REGISTRY_EXPORT = "registry.export"
    # Full values on screens and in exports instead of the masked ones.
    PII_REVEAL_ID = "pii.reveal_id"
    PII_REVEAL_PHONE = "pii.reveal_phone"
    # Screening: rounds, sites and the chain of custody of tubes and boxes in scope.
    SCREENING_READ = "screening.read"
    SCREENING_ROUND_MANAGE = "screening.round.manage"
    # A round's whole-district reconciliation and its rejected-event queue.
    SCREENING_RECONCILE = "screening.reconcile"
    SCREENING_RESOLVE = "screening.resolve"
    # Untested and door-to-door lists of a round (names, phones, addresses).
    SCREENING_EXPORT = "screening.export"
    # Field events from a device (sampler, courier); the device token carries the scope.
    SCREENING_CAPTURE = "screening.capture"
    SCREENING_RESULTS_SUBMIT = "screening.results.submit"
    RECALL_READ = "recall.read"
    RECALL_MANAGE = "recall.manage"
    AUDIT_READ = "audit.read"
    USERS_MANAGE = "users.manage"
    # Areas that arrive with later issues; declared now so every role's work has a name.
    HOTLINE_CASES = "hotline.cases"
    SUPPLIES_MANAGE = "supplies.manage"
    SHIFTS_SIGN_UP = "shifts.sign_up"
    MARKETS_INSPECT = "markets.inspect"
    SELF_SERVICE = "self.service"


P = Permission
# Need-to-know: each role gets what its work in the 2022 scene (DOMAIN.md) needs and no more.
# docs/security.md shows this table; tests/unit/accounts checks the two agree.
# Plans rounds, watches progress across the district and reads the brief.
_COMMANDER = frozenset(
    {
        P.REGISTRY_READ,
        P.REGISTRY_EXPORT,
        P.SCREENING_READ,
        P.SCREENING_ROUND_MANAGE,
        P.SCREENING_RECONCILE,
        P.SCREENING_RESOLVE,
        P.SCREENING_EXPORT,
        P.RECALL_READ,
        P.RECALL_MANAGE,
        P.AUDIT_READ,
    }
)
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.COMMANDER: _COMMANDER,
        # Runs the system: accounts, the audit trail, imports for communities without a
        # worker yet, and the commander's reads to support users. Full ID numbers and phones
        # are not the operator's business.
        Role.ADMIN: _COMMANDER | {P.USERS_MANAGE, P.REGISTRY_WRITE, P.REGISTRY_IMPORT},
        # Assigns sites, staffs stations and checks the data overnight: resolving a rejected
        # swab means comparing the ID number the sampler typed with the registry's.
        Role.HEALTH_OFFICER: frozenset(
            {
                P.REGISTRY_READ,
                P.SCREENING_READ,
                P.SCREENING_ROUND_MANAGE,
                P.SCREENING_RECONCILE,
                P.SCREENING_RESOLVE,
                P.SCREENING_EXPORT,
                P.RECALL_READ,
                P.RECALL_MANAGE,
                P.PII_REVEAL_ID,
                P.PII_REVEAL_PHONE,
            }
        ),
        # Keeps the registry, chases the untested, runs door-to-door and recall visits (so
        # phones in full), answers hotline cases of the community.
        Role.COMMUNITY_WORKER: frozenset(
            {
                P.REGISTRY_READ,
                P.REGISTRY_WRITE,
                P.REGISTRY_IMPORT,
                P.REGISTRY_EXPORT,
                P.SCREENING_READ,
                P.SCREENING_EXPORT,
                P.RECALL_READ,
                P.RECALL_MANAGE,
                P.PII_REVEAL_PHONE,
                P.HOTLINE_CASES,
            }
        ),
        # Field roles work through device tokens; they browse nothing.
        Role.SAMPLER: frozenset({P.SCREENING_CAPTURE}),
        Role.COURIER: frozenset({P.SCREENING_CAPTURE}),
        # Receives boxes and reports results; sees the custody chain of their lab's boxes.
        Role.LAB_RECEIVER: frozenset({P.SCREENING_READ, P.SCREENING_RESULTS_SUBMIT}),
        # Calls residents back about their cases.
        Role.HOTLINE_OPERATOR: frozenset({P.HOTLINE_CASES, P.PII_REVEAL_PHONE}),
        Role.SUPPLIES_OFFICER: frozenset({P.SUPPLIES_MANAGE}),
        Role.VOLUNTEER: frozenset({P.SHIFTS_SIGN_UP}),
        Role.MARKET_INSPECTOR: frozenset({P.MARKETS_INSPECT}),
        Role.RESIDENT: frozenset({P.SELF_SERVICE}),
    }
)

PERMISSION_LABELS: dict[Permission, str] = {
    P.REGISTRY_READ: "see areas, households and residents (ID numbers and phones masked)",
    P.REGISTRY_WRITE: "change households and residents",
    P.REGISTRY_IMPORT: "import resident sheets",
    P.REGISTRY_EXPORT: "export residents to xlsx",
    P.PII_REVEAL_ID: "see full ID numbers",
    P.PII_REVEAL_PHONE: "see full phone numbers",
    P.SCREENING_READ: "see rounds, sites and the custody chain of tubes and boxes",
    P.SCREENING_ROUND_MANAGE: "set up rounds, sites, labs, tubes and device tokens",
    P.SCREENING_RECONCILE: "see a round's district-wide reconciliation and rejected events",
    P.SCREENING_RESOLVE: "resolve rejected events",
    P.SCREENING_EXPORT: "export untested and door-to-door lists",
    P.SCREENING_CAPTURE: "send field events from a device",
    P.SCREENING_RESULTS_SUBMIT: "report lab results",
    P.RECALL_READ: "see the recall board",
    P.RECALL_MANAGE: "move recalls on",
    P.AUDIT_READ: "search the audit log",
    P.USERS_MANAGE: "create, disable and reset users",
    P.HOTLINE_CASES: "open, route and follow up hotline cases",
    P.SUPPLIES_MANAGE: "book donations, keep stock, dispatch packages",
    P.SHIFTS_SIGN_UP: "sign up for shifts and delivery trips",
    P.MARKETS_INSPECT: "report inspections, prices and supply",
    P.SELF_SERVICE: "see their own slot and result, ask for help",
}


def may(role: str | Role, permission: Permission) -> bool:
    """Tell whether a role holds a permission; an unknown role holds none."""
    try:
        known = Role(role)
    except ValueError:
        return False
    return permission in ROLE_PERMISSIONS[known]


MIN_PASSWORD_LENGTH = 8


def password_problems(password: str, username: str) -> list[str]:
    """Return what is wrong with a proposed password; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if password.lower() == username.lower():
        problems.append("must differ from the user name")
    if password.isdigit() or password.isalpha():
        problems.append("mix letters with digits or symbols")
    return problems
