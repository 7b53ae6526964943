"""The key ring: AES-256-GCM encryption of personal data and the keyed hash that finds it.

A stored value is "v1:<kid>:<base64 of nonce + ciphertext + tag>". It names the key that
sealed it, so a ring holding the old and the new key reads everything while
`tongxin keys rotate` re-encrypts row by row. The associated data names the column, so a
value copied into another column (or another payload field) does not decrypt there.

Lookups use HMAC-SHA256 under a separate key: equal numbers give equal hashes (an index can
find them) but the hash reveals nothing without the key, unlike a plain hash of the few
billion possible ID numbers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
LOOKUP_KID = "lookup"
_KID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class KeyRingError(Exception):
    """A key ring could not be built or used; `code` names the problem for the CLI."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UndecryptableValue(KeyRingError):
    """A stored value names a key the ring lacks, or fails its authentication tag."""


@dataclass(frozen=True)
class KeyRing:
    """The current key id, every key still readable, and the lookup-hash key."""

    current: str
    keys: Mapping[str, bytes]
    lookup_key: bytes
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyRingError(
                "pii_key_invalid", f"current key {self.current!r} is not in the ring"
            )
        for kid, key in self.keys.items():
            if not _KID.match(kid) or kid == LOOKUP_KID:
                raise KeyRingError("pii_key_invalid", f"bad key id {kid!r}")
            if len(key) != KEY_BYTES:
                raise KeyRingError("pii_key_invalid", f"key {kid!r} is not {KEY_BYTES} bytes")
        if len(self.lookup_key) < 16:
            raise KeyRingError("pii_key_invalid", "the lookup key is shorter than 16 bytes")
        for kid, key in self.keys.items():
            self._ciphers[kid] = AESGCM(key)

    def encrypt(self, plaintext: str, *, column: str) -> str:
        """Seal a value under the current key, bound to the column it is stored in."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(
            nonce, plaintext.encode("utf-8"), column.encode()
        )
        return f"{VERSION}:{self.current}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, *, column: str) -> str:
        """Open a value sealed by `encrypt` for the same column under any key of the ring."""
        kid, blob = _split(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UndecryptableValue("pii_key_unknown", f"no key {kid!r} in the ring")
        try:
            raw = base64.b64decode(blob, validate=True)
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode())
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise UndecryptableValue(
                "pii_value_tampered", f"value under key {kid!r} fails authentication"
            ) from exc
        return plain.decode("utf-8")

    def lookup_hash(self, value: str) -> str:
        """Return the keyed hash (hex HMAC-SHA256) that finds a value by exact match."""
        return hmac.new(self.lookup_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def without(self, kid: str) -> KeyRing:
        """Return this ring with an old key removed."""
        return KeyRing(
            self.current, {k: v for k, v in self.keys.items() if k != kid}, self.lookup_key
        )


def key_id_of(token: str) -> str:
    """Return the id of the key a stored value was sealed under."""
    return _split(token)[0]


def is_sealed(value: object) -> bool:
    """Tell whether a value looks like one `KeyRing.encrypt` made."""
    return isinstance(value, str) and value.startswith(VERSION + ":") and value.count(":") == 2


def _split(token: str) -> tuple[str, str]:
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != VERSION:
        raise UndecryptableValue("pii_value_malformed", "not an encrypted value")
    return parts[1], parts[2]


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def new_key_id() -> str:
    """Return a fresh key id, short and safe in a key line."""
    return "k" + secrets.token_hex(4)


def key_line(kid: str, key: bytes) -> str:
    """Format one key as a line of the key file or an item of TONGXIN_PII_KEYS."""
    return f"{kid}:{base64.b64encode(key).decode('ascii')}"


def decode_key(text: str, what: str) -> bytes:
    """Decode a base64 key, naming what it is in the error."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError("pii_key_invalid", f"{what} is not valid base64") from exc


def parse_key_lines(items: Iterable[str]) -> tuple[list[tuple[str, bytes]], bytes | None]:
    """Read "kid:base64key" items (blank lines and # comments skipped) in order.

    Returns the encryption keys, first one current, and the lookup key if a "lookup:" item
    names one.
    """
    keys: list[tuple[str, bytes]] = []
    lookup: bytes | None = None
    for raw in items:
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        kid, sep, encoded = item.partition(":")
        if not sep:
            raise KeyRingError("pii_key_invalid", "a key item must look like kid:base64key")
        kid = kid.strip()
        if kid == LOOKUP_KID:
            lookup = decode_key(encoded, "the lookup key")
        else:
            keys.append((kid, decode_key(encoded, f"key {kid!r}")))
    return keys, lookup
