"""What the secret manager needs from storage, as protocols: documents with revisions, an
audit log, and a place for values. ``l01_storage`` and ``value_stores`` implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.kit import PlatformError
from services.l00_secrets import errors

# L01 document collections holding the secrets' metadata and their sealed versions.
SECRETS = "l00.secrets"
VERSIONS = "l00.secret_versions"


class RevisionConflict(Exception):
    """A write's expected revision no longer matched: someone changed the document first."""


class StoreUnavailable(PlatformError):
    """The store (L01, Vault) could not be reached or failed; the message says which."""

    def __init__(self, message: str) -> None:
        super().__init__(errors.STORE_UNAVAILABLE, message)


@dataclass(frozen=True)
class StoredDocument:
    document_id: str
    content: dict[str, Any]
    revision: int


class Documents(Protocol):
    async def get(self, collection: str, document_id: str) -> StoredDocument | None: ...

    async def put(
        self,
        collection: str,
        document_id: str,
        content: dict[str, Any],
        expected_revision: int | None,
    ) -> int:
        """Stores the content; returns the new revision. 0 expects no such document."""
        ...

    async def delete(self, collection: str, document_id: str) -> None: ...

    async def query(
        self,
        collection: str,
        equals: dict[str, str],
        page_size: int,
        page_token: str,
    ) -> tuple[Sequence[StoredDocument], str]:
        """Documents whose fields equal ``equals``, by id; and the next page's token."""
        ...


class AuditLog(Protocol):
    async def record(self, stream: str, event_type: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class VersionRef:
    name: str
    incarnation: str
    number: int


class ValueStore(Protocol):
    """Where values live: sealed in the version's document, or in Vault."""

    async def put(self, ref: VersionRef, value: bytes) -> dict[str, Any]:
        """Stores a value; returns the fields to keep in the version's document."""
        ...

    async def get(self, ref: VersionRef, fields: dict[str, Any]) -> bytes: ...

    async def destroy(self, ref: VersionRef, fields: dict[str, Any]) -> None: ...

    async def rewrap(self, ref: VersionRef, fields: dict[str, Any]) -> dict[str, Any] | None:
        """The fields with the data key wrapped by the current master key; None if already."""
        ...

    def reload_keys(self) -> str:
        """Re-reads the master keys; returns the current key's id."""
        ...
