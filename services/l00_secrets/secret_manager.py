"""The secrets: create, read metadata, add and access versions, change their states, delete,
rotate the master key. Every access is checked against the secret's policy and audited.

Audit events go to the L01 stream ``secret:<name>`` (``secret.keyring`` for rotations) and
name the caller, never a value. A refused caller gets the same PERMISSION_DENIED whether
the secret exists or not, and the refusal is audited too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from services.kit import PlatformError, get_logger
from services.l00_secrets import errors
from services.l00_secrets.envelope import KeyMissing, SealBroken
from services.l00_secrets.records import (
    MAX_VERSIONS,
    AccessPolicy,
    Caller,
    SecretRecord,
    State,
    Version,
    now,
)
from services.l00_secrets.storage import (
    SECRETS,
    VERSIONS,
    AuditLog,
    Documents,
    RevisionConflict,
    ValueStore,
    VersionRef,
)

log = get_logger("l00.secrets")

# Concurrent writers of one secret retry this often before giving up with E0010.
MAX_ATTEMPTS = 16
KEYRING_STREAM = "secret.keyring"

T = TypeVar("T")


@dataclass(frozen=True)
class AccessedValue:
    name: str
    version: int
    value: bytes
    binary: bool


def audit_stream(name: str) -> str:
    return f"secret:{name}"


def version_id(incarnation: str, number: int) -> str:
    return f"{incarnation}.{number}"


def _denied(name: str) -> PlatformError:
    return PlatformError(
        errors.PERMISSION_DENIED,
        f"permission denied on secret {name!r} (or it does not exist)",
        field="name",
    )


class SecretManager:
    def __init__(self, documents: Documents, audit: AuditLog, values: ValueStore) -> None:
        self._documents = documents
        self._audit = audit
        self._values = values
        # Writers of one secret in this process take turns: revisions keep several processes
        # correct, the lock keeps one process from spending its time on conflicts.
        self._writing: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- reading the secret's document -------------------------------------------------------

    async def _load(self, name: str) -> tuple[SecretRecord, int] | None:
        stored = await self._documents.get(SECRETS, name)
        if stored is None:
            return None
        return SecretRecord.from_dict(stored.content), stored.revision

    async def _audit_event(self, name: str, kind: str, caller: Caller, **data: Any) -> None:
        body = {"secret": name, "principal": caller.principal, **data}
        if caller.layer:
            body["layer"] = caller.layer
        await self._audit.record(audit_stream(name), f"secret.{kind}", body)

    async def _authorised(
        self, caller: Caller, name: str, allowed: Callable[[AccessPolicy, Caller], bool], what: str
    ) -> tuple[SecretRecord, int]:
        loaded = await self._load(name)
        if loaded is None or not allowed(loaded[0].policy, caller):
            await self._audit_event(name, "access_denied", caller, operation=what)
            raise _denied(name)
        return loaded

    async def _update(
        self,
        caller: Caller,
        name: str,
        what: str,
        change: Callable[[SecretRecord], Awaitable[tuple[SecretRecord, T]]],
    ) -> T:
        """Applies ``change`` to the secret's document as a manager, retrying on conflicts."""
        async with self._writing[name]:
            return await self._update_in_turn(caller, name, what, change)

    async def _update_in_turn(
        self,
        caller: Caller,
        name: str,
        what: str,
        change: Callable[[SecretRecord], Awaitable[tuple[SecretRecord, T]]],
    ) -> T:
        for _ in range(MAX_ATTEMPTS):
            record, revision = await self._authorised(caller, name, AccessPolicy.may_manage, what)
            changed, result = await change(record)
            try:
                await self._documents.put(SECRETS, name, changed.to_dict(), revision)
            except RevisionConflict:
                continue
            return result
        raise PlatformError(errors.CONFLICT, f"secret {name!r} kept changing; retry")

    # -- secrets -----------------------------------------------------------------------------

    async def create(
        self, caller: Caller, name: str, labels: dict[str, str], policy: AccessPolicy
    ) -> SecretRecord:
        managers = policy.managers
        if caller.layer is None and caller.principal not in managers:
            managers = (*managers, caller.principal)
        created = now()
        record = SecretRecord(
            name=name,
            incarnation=uuid.uuid4().hex[:16],
            labels=labels,
            policy=replace(policy, managers=managers),
            create_time=created,
            update_time=created,
        )
        try:
            await self._documents.put(SECRETS, name, record.to_dict(), 0)
        except RevisionConflict:
            raise PlatformError(
                errors.ALREADY_EXISTS, f"secret {name!r} already exists", field="name"
            ) from None
        await self._audit_event(name, "created", caller, labels=labels)
        return record

    async def get(self, caller: Caller, name: str) -> SecretRecord:
        record, _ = await self._authorised(caller, name, AccessPolicy.may_see, "get")
        return record

    async def list(
        self, caller: Caller, page_size: int, page_token: str
    ) -> tuple[list[SecretRecord], str]:
        """The secrets the caller may see; a page may hold fewer than ``page_size``."""
        stored, next_token = await self._documents.query(SECRETS, {}, page_size, page_token)
        records = [SecretRecord.from_dict(s.content) for s in stored]
        return [r for r in records if r.policy.may_see(caller)], next_token

    async def set_policy(self, caller: Caller, name: str, policy: AccessPolicy) -> SecretRecord:
        if not policy.managers:
            raise PlatformError(
                errors.INVALID_ARGUMENT,
                "access_policy.managers: a secret keeps at least one manager",
                field="access_policy.managers",
            )

        async def change(record: SecretRecord) -> tuple[SecretRecord, SecretRecord]:
            changed = replace(record, policy=policy, update_time=now())
            return changed, changed

        updated = await self._update(caller, name, "set_policy", change)
        await self._audit_event(name, "policy_set", caller, policy=policy.to_dict())
        return updated

    async def delete(self, caller: Caller, name: str) -> int:
        record, _ = await self._authorised(caller, name, AccessPolicy.may_manage, "delete")
        # The metadata goes first: from then on no one can reach a version of it.
        await self._documents.delete(SECRETS, name)
        shredded = 0
        for version in record.versions:
            ref = VersionRef(name, record.incarnation, version.number)
            if version.state is not State.DESTROYED:
                await self._shred(ref)
                shredded += 1
        await self._audit_event(name, "deleted", caller, versions=shredded)
        return shredded

    # -- versions ----------------------------------------------------------------------------

    async def add_version(self, caller: Caller, name: str, value: bytes, binary: bool) -> Version:
        async with self._writing[name]:
            return await self._add_version_in_turn(caller, name, value, binary)

    async def _add_version_in_turn(
        self, caller: Caller, name: str, value: bytes, binary: bool
    ) -> Version:
        for _ in range(MAX_ATTEMPTS):
            record, revision = await self._authorised(
                caller, name, AccessPolicy.may_manage, "add_version"
            )
            if len(record.versions) >= MAX_VERSIONS:
                raise PlatformError(
                    errors.TOO_MANY_VERSIONS,
                    f"secret {name!r} has {MAX_VERSIONS} versions; delete and re-create it",
                )
            ref = VersionRef(name, record.incarnation, record.next_number)
            fields = await self._values.put(ref, value)
            document = {"secret": name, "incarnation": ref.incarnation, "number": ref.number}
            try:
                await self._documents.put(
                    VERSIONS, version_id(ref.incarnation, ref.number), {**document, **fields}, 0
                )
            except RevisionConflict:
                continue  # another writer took this number
            version = Version(ref.number, State.ENABLED, now(), binary)
            while True:
                try:
                    await self._documents.put(
                        SECRETS, name, record.with_version(version).to_dict(), revision
                    )
                    break
                except RevisionConflict:
                    record, revision = await self._authorised(
                        caller, name, AccessPolicy.may_manage, "add_version"
                    )
            await self._audit_event(name, "version_added", caller, version=ref.number)
            return version
        raise PlatformError(errors.CONFLICT, f"secret {name!r} kept changing; retry")

    async def access(self, caller: Caller, name: str, number: int | None) -> AccessedValue:
        """The value of a version (``None``: the newest enabled one)."""
        record, _ = await self._authorised(caller, name, AccessPolicy.may_access, "access")
        version = record.latest_enabled() if number is None else record.version(number)
        if version is None:
            wanted = "an enabled version" if number is None else f"version {number}"
            raise PlatformError(
                errors.VERSION_NOT_FOUND, f"secret {name!r} has no {wanted}", field="version"
            )
        self._check_readable(name, version)
        ref = VersionRef(name, record.incarnation, version.number)
        stored = await self._documents.get(VERSIONS, version_id(ref.incarnation, ref.number))
        if stored is None:  # destroyed between the two reads
            raise PlatformError(
                errors.VERSION_DESTROYED, f"version {ref.number} of {name!r} was destroyed"
            )
        value = await self._open(ref, stored.content)
        await self._audit_event(name, "version_accessed", caller, version=ref.number)
        return AccessedValue(name, ref.number, value, version.binary)

    @staticmethod
    def _check_readable(name: str, version: Version) -> None:
        if version.state is State.DISABLED:
            raise PlatformError(
                errors.VERSION_DISABLED,
                f"version {version.number} of {name!r} is disabled",
                field="version",
            )
        if version.state is State.DESTROYED:
            raise PlatformError(
                errors.VERSION_DESTROYED,
                f"version {version.number} of {name!r} was destroyed",
                field="version",
            )

    async def _open(self, ref: VersionRef, fields: dict[str, Any]) -> bytes:
        try:
            return await self._values.get(ref, fields)
        except KeyMissing as missing:
            raise PlatformError(
                errors.KEY_UNAVAILABLE,
                f"version {ref.number} of {ref.name!r} is wrapped by master key "
                f"{missing.key_id!r}, which is not in the keyring",
            ) from None
        except SealBroken:
            log.error("secret.seal_broken", secret=ref.name, version=ref.number)
            raise PlatformError(
                errors.INTERNAL, f"version {ref.number} of {ref.name!r} failed its integrity check"
            ) from None

    async def set_state(self, caller: Caller, name: str, number: int, target: State) -> Version:
        """Disables, enables or destroys a version."""

        async def change(record: SecretRecord) -> tuple[SecretRecord, tuple[Version, str]]:
            version = record.version(number)
            if version is None:
                raise PlatformError(
                    errors.VERSION_NOT_FOUND,
                    f"secret {name!r} has no version {number}",
                    field="version",
                )
            if version.state is State.DESTROYED and target is not State.DESTROYED:
                raise PlatformError(
                    errors.VERSION_DESTROYED, f"version {number} of {name!r} was destroyed"
                )
            changed = replace(
                version,
                state=target,
                destroy_time=version.destroy_time or (now() if target is State.DESTROYED else None),
            )
            return record.with_version(changed), (changed, record.incarnation)

        verb = {State.ENABLED: "enable", State.DISABLED: "disable", State.DESTROYED: "destroy"}
        version, incarnation = await self._update(caller, name, f"{verb[target]}_version", change)
        if target is State.DESTROYED:
            await self._shred(VersionRef(name, incarnation, number))
        await self._audit_event(name, f"version_{verb[target]}d", caller, version=number)
        return version

    async def _shred(self, ref: VersionRef) -> None:
        document_id = version_id(ref.incarnation, ref.number)
        stored = await self._documents.get(VERSIONS, document_id)
        if stored is not None:
            await self._values.destroy(ref, stored.content)
            await self._documents.delete(VERSIONS, document_id)

    # -- the master key ----------------------------------------------------------------------

    async def rotate_master_key(self, caller: Caller) -> tuple[str, int]:
        """Reloads the keyring and re-wraps every data key not under the current key."""
        current = self._values.reload_keys()
        rewrapped, token = 0, ""
        while True:
            page, token = await self._documents.query(VERSIONS, {}, 500, token)
            for stored in page:
                content = stored.content
                ref = VersionRef(content["secret"], content["incarnation"], int(content["number"]))
                try:
                    fields = await self._values.rewrap(ref, content)
                except KeyMissing as missing:
                    raise PlatformError(
                        errors.KEY_UNAVAILABLE,
                        f"a data key is wrapped by master key {missing.key_id!r}, which is not "
                        "in the keyring: put it back, rotate, then remove it",
                    ) from None
                if fields is None:
                    continue
                try:
                    await self._documents.put(VERSIONS, stored.document_id, fields, stored.revision)
                except RevisionConflict:
                    continue  # destroyed meanwhile
                rewrapped += 1
            if not token:
                break
        await self._audit.record(
            KEYRING_STREAM,
            "secret.master_key_rotated",
            {"principal": caller.principal, "current_key_id": current, "rewrapped": rewrapped},
        )
        return current, rewrapped
