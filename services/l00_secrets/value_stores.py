"""Where a version's value lives: sealed into its L01 document (envelope encryption under the
master keys), or in HashiCorp Vault's KV v2 engine (Vault encrypts it, L00 keeps the path and
Vault's version number). Chosen by ``L00_BACKEND``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import hvac
import hvac.exceptions
import requests

from services.kit import PlatformError
from services.l00_secrets import envelope, errors
from services.l00_secrets.keyring import Keyring, KeyringError
from services.l00_secrets.storage import StoreUnavailable, VersionRef


def _aad(ref: VersionRef) -> bytes:
    return envelope.binding(ref.name, ref.incarnation, ref.number)


class EnvelopeValues:
    """Values sealed with a data key each, wrapped by the current master key."""

    def __init__(self, load_keyring: Callable[[], Keyring]) -> None:
        self._load = load_keyring
        self.keyring = load_keyring()

    async def put(self, ref: VersionRef, value: bytes) -> dict[str, Any]:
        return envelope.seal(self.keyring, value, _aad(ref)).to_fields()

    async def get(self, ref: VersionRef, fields: dict[str, Any]) -> bytes:
        return envelope.open_sealed(self.keyring, envelope.Sealed.from_fields(fields), _aad(ref))

    async def destroy(self, ref: VersionRef, fields: dict[str, Any]) -> None:
        return None  # the version's document, which holds the sealed value, is deleted

    async def rewrap(self, ref: VersionRef, fields: dict[str, Any]) -> dict[str, Any] | None:
        if "key_id" not in fields:  # kept by another backend (an L00 configured for Vault)
            return None
        sealed = envelope.rewrap(self.keyring, envelope.Sealed.from_fields(fields), _aad(ref))
        return None if sealed is None else {**fields, **sealed.to_fields()}

    def reload_keys(self) -> str:
        try:
            self.keyring = self._load()
        except KeyringError as error:
            raise PlatformError(errors.KEYRING_INVALID, str(error)) from None
        return self.keyring.current_id


class VaultValues:
    """Values in Vault's KV v2 engine at ``<mount>/<prefix><name>.<incarnation>``.

    hvac is a blocking client: its calls run in worker threads.
    """

    def __init__(self, client: hvac.Client, mount: str, prefix: str = "agentic/") -> None:
        self._kv = client.secrets.kv.v2
        self._mount = mount
        self._prefix = prefix

    def _path(self, ref: VersionRef) -> str:
        return f"{self._prefix}{ref.name}.{ref.incarnation}"

    async def _call(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(function, mount_point=self._mount, **kwargs)
        except (hvac.exceptions.VaultError, requests.RequestException) as error:
            # The message names the failure, never the request body (the value).
            raise StoreUnavailable(f"Vault: {type(error).__name__}") from None

    async def put(self, ref: VersionRef, value: bytes) -> dict[str, Any]:
        reply = await self._call(
            self._kv.create_or_update_secret,
            path=self._path(ref),
            secret={"value": value.hex()},
        )
        return {"vault_path": self._path(ref), "vault_version": int(reply["data"]["version"])}

    async def get(self, ref: VersionRef, fields: dict[str, Any]) -> bytes:
        reply = await self._call(
            self._kv.read_secret_version,
            path=fields["vault_path"],
            version=int(fields["vault_version"]),
            raise_on_deleted_version=True,
        )
        return bytes.fromhex(reply["data"]["data"]["value"])

    async def destroy(self, ref: VersionRef, fields: dict[str, Any]) -> None:
        await self._call(
            self._kv.destroy_secret_versions,
            path=fields["vault_path"],
            versions=[int(fields["vault_version"])],
        )

    async def rewrap(self, ref: VersionRef, fields: dict[str, Any]) -> dict[str, Any] | None:
        return None  # Vault keeps its own keys (`vault operator rotate`)

    def reload_keys(self) -> str:
        return "vault"
