"""Pure personal-data decisions: how ID numbers and phones are masked, and who sees them whole.

Need to know, from the domain brief:
- ID numbers in full: the health-bureau officer (checks the data, answers the health system
  about a person), only through a deliberate reveal, which is audited. The commander orders
  recalls by tube and place and works from counts, so sees them masked.
- Phones in full: those who call people: community workers (their own residents; the
  jurisdiction filter decides whose), hotline operators and health officers.
- Everyone else, administrators included (they run the system, not the response), sees
  masked values. Samplers compare the last four characters with the card in hand.
The roles holding `pii.reveal_id` and `pii.reveal_phone` in accounts.rules decide it.
"""

from __future__ import annotations

from enum import StrEnum

from tongxin.accounts.rules import Permission, may


class Detail(StrEnum):
    """A personal detail that is masked unless the viewer's role needs it whole."""

    ID_NUMBER = "id_number"
    PHONE = "phone"


# Who sees a detail whole is a permission of the role (accounts.rules.ROLE_PERMISSIONS), so
# the security table, the access checks and the masking cannot disagree.
_NEEDS: dict[Detail, Permission] = {
    Detail.ID_NUMBER: Permission.PII_REVEAL_ID,
    Detail.PHONE: Permission.PII_REVEAL_PHONE,
}


def may_see_full(role: str, detail: Detail) -> bool:
    """Tell whether a role may see this detail unmasked."""
    return may(role, _NEEDS[detail])


def _mask(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    return value[:head] + "*" * hidden + (value[-tail:] if tail else "")


def mask_id_number(value: str | None) -> str:
    """Keep an ID number's first and last four characters ("5201**********1234").

    Shorter numbers (passports, other documents) keep a quarter at each end, so at least
    half of any number is hidden; four characters or fewer keep only the last one.
    """
    if not value:
        return ""
    value = value.strip()
    n = len(value)
    if n >= 16:
        return _mask(value, 4, 4)
    if n <= 4:
        return _mask(value, 0, 1) if n > 1 else "*"
    keep = max(1, n // 4)
    return _mask(value, keep, keep)


def mask_phone(value: str | None) -> str:
    """Keep a mobile number's first three and last four digits ("138****5678").

    Other lengths keep the last third at most, so short or odd values never show whole.
    """
    if not value:
        return ""
    value = value.strip()
    n = len(value)
    if n >= 11:
        return _mask(value, 3, 4)
    if n <= 2:
        return "*" * n
    return _mask(value, 0, max(1, n // 3))


def mask_name(value: str | None) -> str:
    """Keep a name's first character and hide the rest ("张**"), as notices show people.

    A one-character name still hides one, so a masked name never shows a whole name.
    """
    if not value:
        return ""
    value = value.strip()
    return value[:1] + "*" * max(len(value) - 1, 1)


def shown(value: str | None, detail: Detail, *, full: bool) -> str:
    """Return the value whole when `full`, else masked the way `detail` is masked."""
    if full:
        return value or ""
    return mask_id_number(value) if detail is Detail.ID_NUMBER else mask_phone(value)
