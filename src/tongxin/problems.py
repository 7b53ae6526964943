"""The one shape of a refused input that areas share: a stable code, a message, and where.

Pages, the API and the CLI all turn it into the same answer (a 422 naming the field, or a
bilingual line on stderr and exit 2), so areas raise their own subclass of it.
"""

from __future__ import annotations


class InputProblem(ValueError):
    """Bad input: a stable `code`, a readable `message` and `where` (row, field) it was found."""

    def __init__(self, code: str, message: str, *, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.code = code
        self.message = message
        self.where = where

    def as_dict(self) -> dict[str, str]:
        """Return the problem for a page or JSON: code, where, detail."""
        return {"code": self.code, "where": self.where, "detail": self.message}
