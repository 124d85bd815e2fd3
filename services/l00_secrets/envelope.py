"""Envelope encryption: each value sealed with its own data key, the data key wrapped by a
master key.

Value: AES-256-GCM under a fresh random data key, the secret's name, incarnation and version
bound in as associated data (a ciphertext moved to another secret or version fails to open).
Data key: AES-256-GCM under the current master key, with the key id and the same binding as
associated data. Rotation unwraps and re-wraps the data key only; the ciphertext is untouched.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.l00_secrets.keyring import KEY_BYTES, Keyring

NONCE_BYTES = 12


class SealBroken(Exception):
    """A sealed value could not be opened: wrong key, or the stored bytes were altered."""


class KeyMissing(Exception):
    """The master key that wrapped a data key is not in the keyring."""

    def __init__(self, key_id: str) -> None:
        super().__init__(key_id)
        self.key_id = key_id


@dataclass(frozen=True)
class Sealed:
    """What is stored for one version: nothing here reveals the value or its key."""

    key_id: str  # the master key that wrapped the data key
    wrapped_key: bytes  # nonce + AES-GCM(data key)
    ciphertext: bytes  # nonce + AES-GCM(value)

    def to_fields(self) -> dict[str, str]:
        return {
            "key_id": self.key_id,
            "wrapped_key": base64.b64encode(self.wrapped_key).decode(),
            "ciphertext": base64.b64encode(self.ciphertext).decode(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Sealed:
        return cls(
            key_id=fields["key_id"],
            wrapped_key=base64.b64decode(fields["wrapped_key"]),
            ciphertext=base64.b64decode(fields["ciphertext"]),
        )


def binding(name: str, incarnation: str, version: int) -> bytes:
    """The associated data of a version: its secret's name, incarnation and number."""
    return f"agentic.secrets/{name}/{incarnation}/{version}".encode()


def _encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _decrypt(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag:
        raise SealBroken("authentication failed") from None


def _wrap_aad(key_id: str, aad: bytes) -> bytes:
    return key_id.encode() + b"|" + aad


def seal(keyring: Keyring, value: bytes, aad: bytes) -> Sealed:
    data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    ciphertext = _encrypt(data_key, value, aad)
    key_id = keyring.current_id
    wrapped = _encrypt(keyring.current, data_key, _wrap_aad(key_id, aad))
    return Sealed(key_id, wrapped, ciphertext)


def _data_key(keyring: Keyring, sealed: Sealed, aad: bytes) -> bytes:
    master = keyring.get(sealed.key_id)
    if master is None:
        raise KeyMissing(sealed.key_id)
    return _decrypt(master, sealed.wrapped_key, _wrap_aad(sealed.key_id, aad))


def open_sealed(keyring: Keyring, sealed: Sealed, aad: bytes) -> bytes:
    return _decrypt(_data_key(keyring, sealed, aad), sealed.ciphertext, aad)


def rewrap(keyring: Keyring, sealed: Sealed, aad: bytes) -> Sealed | None:
    """The same ciphertext with its data key wrapped by the current master key; None when it
    already is."""
    if sealed.key_id == keyring.current_id:
        return None
    data_key = _data_key(keyring, sealed, aad)
    key_id = keyring.current_id
    wrapped = _encrypt(keyring.current, data_key, _wrap_aad(key_id, aad))
    return Sealed(key_id, wrapped, sealed.ciphertext)
