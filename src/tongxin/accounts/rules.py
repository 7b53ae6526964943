"""Pure account decisions: roles and their permissions, password policy, sign-in throttling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    HOTLINE_SUPERVISOR = "hotline_supervisor"
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
    Role.HOTLINE_SUPERVISOR: "热线督办员",
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
    # The supervisor board (every case in scope, overdue first), reassigning, statistics.
    HOTLINE_SUPERVISE = "hotline.supervise"
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
        # Watches every desk's cases in the jurisdiction, moves stuck ones, reads the figures.
        Role.HOTLINE_SUPERVISOR: frozenset(
            {P.HOTLINE_CASES, P.HOTLINE_SUPERVISE, P.PII_REVEAL_PHONE}
        ),
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
    P.HOTLINE_SUPERVISE: "see every hotline case in scope, reassign cases, read statistics",
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


MIN_PASSWORD_LENGTH = 10  # also in the message below: change both

# Passwords people in China (and everywhere) choose first; checked case-insensitively after
# the length rule, since attackers try these before anything else. Keep the list small and
# embedded: no download, no file to lose.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678",
        "123456789",
        "0123456789",
        "1111111111",
        "0000000000",
        "88888888",
        "8888888888",
        "66666666",
        "6666666666",
        "11111111",
        "1qaz2wsx",
        "1qaz2wsx3edc",
        "a123456789",
        "a1234567890",
        "abc1234567",
        "abc123456789",
        "aa12345678",
        "qq123456789",
        "woaini1314",
        "woaini520",
        "5201314520",
        "iloveyou1314",
        "qwertyuiop",
        "qwerty123456",
        "qwe1234567",
        "asdfghjkl1",
        "zxcvbnm123",
        "password",
        "password1",
        "password123",
        "passw0rd123",
        "p@ssw0rd123",
        "admin12345",
        "admin123456",
        "administrator",
        "welcome123",
        "tongxin123",
        "tongxin2022",
        "baiyun2022",
    }
)


def N_(message: str) -> str:
    """Mark a UI message for the catalogs; pages translate it when they show it."""
    return message


def password_problems(password: str, username: str) -> list[str]:
    """Return what is wrong with a proposed password as UI msgids; empty when fine."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(N_("密码至少需要10个字符"))
    lowered = password.lower()
    name_letters = _letters(username)
    if username and (
        lowered == username.lower() or (name_letters and _letters(lowered) == name_letters)
    ):
        problems.append(N_("密码不能是用户名（加几个数字或符号也不行）"))
    if password.isdigit() or password.isalpha():
        problems.append(N_("密码不能全是数字或全是字母，请混合字母、数字或符号"))
    if lowered in COMMON_PASSWORDS:
        problems.append(N_("这是常见密码，很容易被猜中，请换一个"))
    return problems


def _letters(text: str) -> str:
    # "zhangsan2022!" is still the user name "zhangsan" to anyone guessing.
    return "".join(c for c in text.lower() if c.isalpha())


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failed sign-ins within `window` lock a name (or an address) for `lockout`."""

    max_failures: int
    window: timedelta
    lockout: timedelta

    def horizon(self) -> timedelta:
        """Return how far back failures can still matter to a decision now."""
        return self.window + self.lockout


def locked_until(
    failures: Sequence[datetime], now: datetime, policy: ThrottlePolicy
) -> datetime | None:
    """Return when a lock ends, or None when another sign-in attempt is allowed now.

    `failures` are the times of failed attempts (for one user name since its last success,
    or for one address). Any `max_failures` of them within `window` lock until `lockout`
    after the last of those. Attempts refused while locked are not recorded, so the lock
    cannot be stretched forever by hammering it.
    """
    if policy.max_failures <= 0:
        return None
    times = sorted(failures)
    until: datetime | None = None
    n = policy.max_failures
    for i in range(n - 1, len(times)):
        if times[i] - times[i - n + 1] <= policy.window:
            candidate = times[i] + policy.lockout
            if until is None or candidate > until:
                until = candidate
    return until if until is not None and until > now else None


def may_change_activity(actor_id: int, target_id: int, *, enable: bool) -> str | None:
    """Return why an administrator may not enable/disable this user, or None when they may.

    Disabling oneself would lock the last administrator out with no way back but the CLI.
    """
    if not enable and actor_id == target_id:
        return N_("不能停用自己的账号")
    return None


def session_current(signed_in_at: object, sessions_valid_from: datetime | None) -> bool:
    """Return whether a session signed in at `signed_in_at` (epoch seconds) still counts.

    An administrator's disable or password reset sets `sessions_valid_from`; any session
    from before it, or one that never recorded its sign-in time, is over.
    """
    if sessions_valid_from is None:
        return True
    if not isinstance(signed_in_at, int | float) or isinstance(signed_in_at, bool):
        return False
    return signed_in_at >= sessions_valid_from.timestamp()
