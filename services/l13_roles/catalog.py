"""Roles in L01 documents: the current definition of each, and every revision kept.

``l13-roles/{name}`` holds a role as it is now; its L01 revision is the role's revision, so
L01's expected-revision check is the role's. ``l13-role-revisions/{name}@{n}`` keeps each
revision. A role shipped with the platform is rewritten from its YAML at start only while
nobody has edited it through the API (``origin`` says who wrote it last).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc

from services.kit import PlatformError
from services.kit.documents import DocumentCollection, RevisionConflict, StoredDocument
from services.l13_roles import errors
from services.l13_roles.definitions import ACTIVE, RoleDefinition, check_name, validate_role
from services.l13_roles.upstream import calling

CURRENT = "l13-roles"
REVISIONS = "l13-role-revisions"
SHIPPED = "shipped"
EDITED = "api"
_BOOKKEEPING = ("origin", "shipped_digest", "revision")


@dataclass(frozen=True)
class StoredRole:
    definition: RoleDefinition
    revision: int
    update_time: datetime
    origin: str = EDITED
    shipped_digest: str = ""


def shipped_digest(role: RoleDefinition) -> str:
    return hashlib.sha256(json.dumps(role.content(), sort_keys=True).encode()).hexdigest()[:32]


def _role(document: StoredDocument, revision: int | None = None) -> StoredRole:
    content = {k: v for k, v in document.content.items() if k not in _BOOKKEEPING}
    return StoredRole(
        definition=validate_role(content),
        revision=revision or document.revision,
        update_time=document.update_time,
        origin=str(document.content.get("origin", EDITED)),
        shipped_digest=str(document.content.get("shipped_digest", "")),
    )


class RoleCatalog:
    def __init__(self, l01: grpc.aio.Channel) -> None:
        self._current = DocumentCollection(l01, CURRENT)
        self._revisions = DocumentCollection(l01, REVISIONS)

    async def all(self) -> list[StoredRole]:
        with calling("l01"):
            return [_role(d) for d in await self._current.all()]

    async def get(self, name: str, revision: int = 0) -> StoredRole:
        check_name(name)
        with calling("l01"):
            if revision:
                document = await self._revisions.get(f"{name}@{revision}")
            else:
                document = await self._current.get(name)
        if document is None:
            at = f" at revision {revision}" if revision else ""
            raise PlatformError(
                errors.ROLE_NOT_FOUND, f"no role {name!r}{at}", metadata={"name": name}
            )
        return _role(document, revision or None)

    async def page(
        self, page_size: int, page_token: str, show_deprecated: bool
    ) -> tuple[list[StoredRole], str]:
        equal = None if show_deprecated else {"state": ACTIVE}
        with calling("l01", invalid_field="page_token"):
            documents, token = await self._current.query(
                equal, page_size=page_size, page_token=page_token
            )
        return [_role(d) for d in documents], token

    async def revisions(self, name: str) -> list[StoredRole]:
        await self.get(name)  # NOT_FOUND for an unknown role
        with calling("l01"):
            documents = await self._revisions.all({"name": name})
        found = [_role(d, int(d.content["revision"])) for d in documents]
        return sorted(found, key=lambda r: -r.revision)

    async def write(
        self, role: RoleDefinition, expected_revision: int, origin: str = EDITED
    ) -> StoredRole:
        """Stores a new revision of ``role``; ``expected_revision`` 0 = create."""
        content: dict[str, Any] = {**role.content(), "origin": origin}
        if origin == SHIPPED:
            content["shipped_digest"] = shipped_digest(role)
        try:
            with calling("l01"):
                document = await self._current.put(role.name, content, expected_revision)
        except RevisionConflict as conflict:
            if expected_revision == 0:
                raise PlatformError(
                    errors.ROLE_EXISTS, f"role {role.name!r} exists", field="role.name"
                ) from None
            raise PlatformError(
                errors.REVISION_CONFLICT,
                f"role {role.name!r} is at revision {conflict.actual}, not {expected_revision}",
                metadata={"actual_revision": str(conflict.actual)},
            ) from None
        with calling("l01"):
            await self._revisions.put(
                f"{role.name}@{document.revision}", {**content, "revision": document.revision}, None
            )
        return _role(document)
