"""Roles and permissions: the declared table, need-to-know, and the docs that show it."""

from __future__ import annotations

from pathlib import Path

from tongxin.accounts.rules import (
    PERMISSION_LABELS,
    ROLE_LABELS_ZH,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    may,
)

SECURITY_DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"
BEGIN = "<!-- role-permissions:begin (checked by tests/unit/accounts/test_permissions.py) -->"
END = "<!-- role-permissions:end -->"


def role_table() -> str:
    """Render ROLE_PERMISSIONS as the markdown table docs/security.md carries."""
    lines = ["| role | 角色 | may |", "|---|---|---|"]
    for role in Role:
        held = sorted(ROLE_PERMISSIONS[role])
        lines.append(
            f"| `{role.value}` | {ROLE_LABELS_ZH[role]} | "
            + ", ".join(f"`{p.value}`" for p in held)
            + " |"
        )
    lines += ["", "| permission | lets a user |", "|---|---|"]
    lines += [f"| `{p.value}` | {PERMISSION_LABELS[p]} |" for p in Permission]
    return "\n".join(lines)


def test_every_role_has_a_declared_set_and_every_permission_a_label() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert set(PERMISSION_LABELS) == set(Permission)


def test_every_permission_is_held_by_some_role() -> None:
    held = set().union(*ROLE_PERMISSIONS.values())
    assert held == set(Permission)


def test_full_id_numbers_and_phones_are_for_the_few_roles_that_work_with_them() -> None:
    ids = {r for r in Role if may(r, Permission.PII_REVEAL_ID)}
    phones = {r for r in Role if may(r, Permission.PII_REVEAL_PHONE)}
    assert ids == {Role.HEALTH_OFFICER}
    assert phones == {
        Role.COMMUNITY_WORKER,
        Role.HEALTH_OFFICER,
        Role.HOTLINE_OPERATOR,
        Role.HOTLINE_SUPERVISOR,
    }


def test_field_roles_and_residents_browse_no_registry() -> None:
    for role in (Role.SAMPLER, Role.COURIER, Role.VOLUNTEER, Role.RESIDENT, Role.LAB_RECEIVER):
        assert not may(role, Permission.REGISTRY_READ), role


def test_an_unknown_role_holds_nothing() -> None:
    assert not may("superuser", Permission.REGISTRY_READ)


def test_the_security_doc_shows_the_declared_table() -> None:
    text = SECURITY_DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"docs/security.md lacks {BEGIN} ... {END}"
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert shown == role_table(), "regenerate the table in docs/security.md:\n" + role_table()
