"""The column type of encrypted personal data: plaintext in Python, ciphertext in the database.

Reads and writes through SQLAlchemy (ORM and Core statements) seal and open values with the
engine's key ring, so pages, exports and reconciliation read ID numbers as before. Equality
in SQL cannot work on values sealed with random nonces, so comparing the column raises:
find rows through the `*_hash` column next to it instead. The capture path's bulk insert
(`screening.bulk`) bypasses type processing and calls `process_bind_param` itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from tongxin.privacy.keys import ring_of

SEALED_LENGTH = 160  # "v1:" + key id (<= 32) + ":" + base64 of 12 + 32 + 16 bytes, with room

_ALLOWED = {operators.is_, operators.is_not}


class EncryptedString(TypeDecorator[str]):
    """A string sealed with AES-GCM under the engine's current key, bound to its column."""

    impl = String(SEALED_LENGTH)
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    class comparator_factory(TypeDecorator.Comparator[str]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op not in _ALLOWED:
                raise TypeError("encrypted column: compare its lookup hash instead")
            return super().operate(op, *other, **kwargs)

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            raise TypeError("encrypted column: compare its lookup hash instead")

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return ring_of(dialect).encrypt(value, column=self.column)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return ring_of(dialect).decrypt(value, column=self.column)
