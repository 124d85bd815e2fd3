"""Envelope encryption and the keyring, without a server."""

from __future__ import annotations

import base64

import pytest

from services.l00_secrets import envelope, keyring

pytestmark = [pytest.mark.unit, pytest.mark.l00]


def _ring(*lines: str) -> keyring.Keyring:
    return keyring.parse("\n".join(lines))


def test_a_sealed_value_opens_only_with_its_binding() -> None:
    ring = _ring(keyring.new_key_line("a"))
    aad = envelope.binding("db", "inc1", 1)
    sealed = envelope.seal(ring, b"hunter2", aad)
    assert b"hunter2" not in sealed.ciphertext + sealed.wrapped_key
    assert envelope.open_sealed(ring, sealed, aad) == b"hunter2"
    for other in (
        envelope.binding("db2", "inc1", 1),
        envelope.binding("db", "inc2", 1),
        envelope.binding("db", "inc1", 2),
    ):
        with pytest.raises(envelope.SealBroken):
            envelope.open_sealed(ring, sealed, other)


def test_each_version_gets_its_own_data_key_and_nonce() -> None:
    ring = _ring(keyring.new_key_line("a"))
    aad = envelope.binding("db", "i", 1)
    one, two = envelope.seal(ring, b"same", aad), envelope.seal(ring, b"same", aad)
    assert one.ciphertext != two.ciphertext and one.wrapped_key != two.wrapped_key


def test_rewrap_keeps_the_ciphertext_and_drops_the_old_key() -> None:
    old, new = keyring.new_key_line("old"), keyring.new_key_line("new")
    aad = envelope.binding("db", "i", 1)
    sealed = envelope.seal(_ring(old), b"value", aad)
    rewrapped = envelope.rewrap(_ring(old, new), sealed, aad)
    assert rewrapped is not None
    assert (rewrapped.key_id, rewrapped.ciphertext) == ("new", sealed.ciphertext)
    assert envelope.open_sealed(_ring(new), rewrapped, aad) == b"value"
    assert envelope.rewrap(_ring(new), rewrapped, aad) is None
    with pytest.raises(envelope.KeyMissing):
        envelope.open_sealed(_ring(new), sealed, aad)


def test_a_tampered_wrapped_key_is_detected() -> None:
    ring = _ring(keyring.new_key_line("a"))
    aad = envelope.binding("db", "i", 1)
    sealed = envelope.seal(ring, b"value", aad)
    flipped = bytes([sealed.wrapped_key[-1] ^ 1])
    broken = envelope.Sealed(sealed.key_id, sealed.wrapped_key[:-1] + flipped, sealed.ciphertext)
    with pytest.raises(envelope.SealBroken):
        envelope.open_sealed(ring, broken, aad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no key"),
        ("# only a comment", "no key"),
        ("nocolon", "line 1"),
        ("k1:!!!", "not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
        (f"{keyring.new_key_line('k')}\n{keyring.new_key_line('k')}", "twice"),
        ("bad id:" + base64.b64encode(bytes(32)).decode(), "line 1"),
    ],
)
def test_malformed_keyrings_say_where_and_never_show_a_key(text: str, message: str) -> None:
    with pytest.raises(keyring.KeyringError, match=message) as error:
        keyring.parse(text)
    assert base64.b64encode(bytes(32)).decode() not in str(error.value)


def test_the_last_key_is_current_and_commas_separate_inline_keys() -> None:
    first, second = keyring.new_key_line("one"), keyring.new_key_line("two")
    ring = keyring.parse(f"{first},{second}")
    assert ring.current_id == "two" and set(ring.keys) == {"one", "two"}
