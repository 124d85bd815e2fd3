"""The master keys: which one wraps new data keys, and the older ones still unwrapping.

A keyring is text, one key a line, ``<key id>:<base64 of 32 random bytes>``; blank lines and
``#`` comments are ignored, and the **last** key is the current one. It comes from
``L00_MASTER_KEY`` (lines may be separated by commas) or the file ``L00_MASTER_KEY_FILE``.
Rotation is: append a new key, ask L00 to rotate (every data key is re-wrapped under it),
then the old lines may be removed.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32  # AES-256
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class KeyringError(ValueError):
    """The keyring is missing or malformed; the message says where (never a key)."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # key id -> 32 bytes, in the order written
    current_id: str

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def get(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)


def parse(text: str) -> Keyring:
    keys: dict[str, bytes] = {}
    lines = [line.strip() for line in text.replace(",", "\n").splitlines()]
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("#"):
            continue
        key_id, sep, encoded = line.partition(":")
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise KeyringError(f"keyring line {number}: expected '<key id>:<base64 key>'")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise KeyringError(f"keyring line {number}: the key is not base64") from None
        if len(key) != KEY_BYTES:
            raise KeyringError(f"keyring line {number}: a key is {KEY_BYTES} bytes, not {len(key)}")
        if key_id in keys:
            raise KeyringError(f"keyring line {number}: key id {key_id!r} appears twice")
        keys[key_id] = key
    if not keys:
        raise KeyringError("the keyring holds no key")
    return Keyring(keys, current_id=list(keys)[-1])


def load(inline: str | None, path: Path | None) -> Keyring:
    """From the inline value if set, else the file."""
    if inline:
        return parse(inline)
    if path is None:
        raise KeyringError("no master key: set L00_MASTER_KEY or L00_MASTER_KEY_FILE")
    try:
        return parse(path.read_text())
    except OSError as error:
        raise KeyringError(f"cannot read the master key file {path}: {error.strerror}") from None


def new_key_line(key_id: str | None = None) -> str:
    """A fresh keyring line (for a new keyring or a rotation)."""
    key_id = key_id or f"k{secrets.token_hex(4)}"
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"
