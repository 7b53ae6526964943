"""The key ring: AES-GCM round trips, authentication, column binding, keyed hashes."""

from __future__ import annotations

import base64

import pytest

from tongxin.privacy.crypto import (
    KeyRing,
    KeyRingError,
    UndecryptableValue,
    is_sealed,
    key_id_of,
    key_line,
    new_key,
    parse_key_lines,
)
from tongxin.privacy.keys import load_key_ring, write_key_file
from tongxin.settings import Settings

NUMBER = "520102199001011234"
COLUMN = "residents.id_number"


def ring(current: str = "a", **keys: bytes) -> KeyRing:
    keys = keys or {"a": bytes(32)}
    return KeyRing(current, keys, lookup_key=b"L" * 32)


def test_a_value_round_trips_and_names_its_key():
    r = ring("a", a=new_key())
    token = r.encrypt(NUMBER, column=COLUMN)
    assert token.startswith("v1:a:") and is_sealed(token) and key_id_of(token) == "a"
    assert NUMBER not in token
    assert r.decrypt(token, column=COLUMN) == NUMBER


def test_the_same_value_seals_differently_each_time():
    r = ring("a", a=new_key())
    assert r.encrypt(NUMBER, column=COLUMN) != r.encrypt(NUMBER, column=COLUMN)


def test_a_wrong_key_under_the_same_id_fails():
    token = ring("a", a=new_key()).encrypt(NUMBER, column=COLUMN)
    with pytest.raises(UndecryptableValue) as failed:
        ring("a", a=new_key()).decrypt(token, column=COLUMN)
    assert failed.value.code == "pii_value_tampered"


def test_a_key_missing_from_the_ring_fails():
    token = ring("a", a=new_key()).encrypt(NUMBER, column=COLUMN)
    with pytest.raises(UndecryptableValue) as failed:
        ring("b", b=new_key()).decrypt(token, column=COLUMN)
    assert failed.value.code == "pii_key_unknown"


def test_tampered_ciphertext_fails():
    r = ring("a", a=new_key())
    token = r.encrypt(NUMBER, column=COLUMN)
    raw = bytearray(base64.b64decode(token.split(":")[2]))
    raw[-20] ^= 1
    tampered = "v1:a:" + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(UndecryptableValue):
        r.decrypt(tampered, column=COLUMN)
    with pytest.raises(UndecryptableValue):
        r.decrypt("v1:a:not base64!", column=COLUMN)
    with pytest.raises(UndecryptableValue):
        r.decrypt(NUMBER, column=COLUMN)


def test_a_value_is_bound_to_its_column():
    r = ring("a", a=new_key())
    token = r.encrypt(NUMBER, column="residents.id_number")
    with pytest.raises(UndecryptableValue):
        r.decrypt(token, column="swabs.id_number")


def test_a_ring_with_old_and_new_keys_reads_both():
    old, new = new_key(), new_key()
    before = ring("old", old=old).encrypt(NUMBER, column=COLUMN)
    both = ring("new", new=new, old=old)
    after = both.encrypt(NUMBER, column=COLUMN)
    assert key_id_of(after) == "new"
    assert both.decrypt(before, column=COLUMN) == both.decrypt(after, column=COLUMN) == NUMBER
    with pytest.raises(UndecryptableValue):
        both.without("old").decrypt(before, column=COLUMN)


def test_the_lookup_hash_is_keyed_and_stable():
    r = ring()
    h = r.lookup_hash(NUMBER)
    assert len(h) == 64 and int(h, 16) >= 0
    assert h == r.lookup_hash(NUMBER) != r.lookup_hash(NUMBER[:-1] + "5")
    other = KeyRing("a", {"a": bytes(32)}, lookup_key=b"M" * 32)
    assert other.lookup_hash(NUMBER) != h


def test_bad_keys_are_refused():
    with pytest.raises(KeyRingError):
        KeyRing("a", {"a": b"short"}, lookup_key=b"L" * 32)
    with pytest.raises(KeyRingError):
        KeyRing("b", {"a": bytes(32)}, lookup_key=b"L" * 32)
    with pytest.raises(KeyRingError):
        parse_key_lines(["no-separator"])
    with pytest.raises(KeyRingError):
        parse_key_lines(["a:***"])


def test_settings_name_the_ring_the_first_key_current(tmp_path):
    a, b = key_line("a", new_key()), key_line("b", new_key())
    lookup = base64.b64encode(new_key()).decode()
    r = load_key_ring(Settings(pii_keys=f"{b},{a}", pii_lookup_key=lookup, pii_key_file=""))
    assert r.current == "b" and set(r.keys) == {"a", "b"}


def test_no_key_configured_is_a_clear_error(tmp_path):
    with pytest.raises(KeyRingError) as failed:
        load_key_ring(Settings(pii_keys="", pii_key_file=str(tmp_path / "absent")))
    assert failed.value.code == "pii_keys_missing"
    assert "TONGXIN_PII_KEYS" in failed.value.message


def test_a_key_file_is_created_private_and_a_new_key_becomes_current(tmp_path):
    path = tmp_path / "var" / "pii.keys"
    first = write_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    settings = Settings(pii_keys="", pii_lookup_key="", pii_key_file=str(path))
    assert load_key_ring(settings).current == first
    standby = write_key_file(path, standby=True)
    assert load_key_ring(settings).current == first
    second = write_key_file(path)
    ring_now = load_key_ring(settings)
    assert ring_now.current == second and set(ring_now.keys) == {first, standby, second}
