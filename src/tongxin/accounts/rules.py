"""Pure account decisions: roles and password policy."""

from __future__ import annotations

from enum import StrEnum


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
