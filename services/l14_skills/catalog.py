"""Skills in L01 documents: the newest version of each, and every version kept.

``l14-skills/{name}`` holds a skill's newest version; ``l14-skill-versions/{name}@{version}``
keeps each one. A shipped skill is rewritten from its YAML at start only while nobody has
added a version through the API (``origin`` says who wrote the newest).
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
from services.l14_skills import errors
from services.l14_skills.definitions import (
    SkillDefinition,
    check_reference,
    validate_skill,
    version_key,
)
from services.l14_skills.upstream import calling

CURRENT = "l14-skills"
VERSIONS = "l14-skill-versions"
SHIPPED = "shipped"
EDITED = "api"
_BOOKKEEPING = ("origin", "shipped_digest")


@dataclass(frozen=True)
class StoredSkill:
    definition: SkillDefinition
    revision: int  # of the newest-version document (for atomic updates)
    update_time: datetime
    origin: str = EDITED
    shipped_digest: str = ""


def shipped_digest(skill: SkillDefinition) -> str:
    return hashlib.sha256(json.dumps(skill.content(), sort_keys=True).encode()).hexdigest()[:32]


def _skill(document: StoredDocument) -> StoredSkill:
    content = {k: v for k, v in document.content.items() if k not in _BOOKKEEPING}
    return StoredSkill(
        definition=validate_skill(content),
        revision=document.revision,
        update_time=document.update_time,
        origin=str(document.content.get("origin", EDITED)),
        shipped_digest=str(document.content.get("shipped_digest", "")),
    )


def not_found(name: str, version: str = "") -> PlatformError:
    at = f" at version {version}" if version else ""
    return PlatformError(errors.SKILL_NOT_FOUND, f"no skill {name!r}{at}", metadata={"name": name})


class SkillCatalog:
    def __init__(self, l01: grpc.aio.Channel) -> None:
        self._current = DocumentCollection(l01, CURRENT)
        self._versions = DocumentCollection(l01, VERSIONS)

    async def all(self) -> list[StoredSkill]:
        with calling("l01"):
            return [_skill(d) for d in await self._current.all()]

    async def get(self, name: str, version: str = "") -> StoredSkill:
        check_reference(name, version)
        with calling("l01"):
            if version:
                document = await self._versions.get(f"{name}@{version}")
            else:
                document = await self._current.get(name)
        if document is None:
            raise not_found(name, version)
        return _skill(document)

    async def page(
        self, category: str, status: str, page_size: int, page_token: str
    ) -> tuple[list[StoredSkill], str]:
        equal = {k: v for k, v in (("category", category), ("status", status)) if v}
        with calling("l01", invalid_field="page_token"):
            documents, token = await self._current.query(
                equal, page_size=page_size, page_token=page_token
            )
        return [_skill(d) for d in documents], token

    async def versions(self, name: str) -> list[StoredSkill]:
        await self.get(name)  # NOT_FOUND for an unknown skill
        with calling("l01"):
            documents = await self._versions.all({"name": name})
        found = [_skill(d) for d in documents]
        return sorted(found, key=lambda s: version_key(s.definition.version), reverse=True)

    async def create(self, skill: SkillDefinition, origin: str = EDITED) -> StoredSkill:
        return await self._write(skill, 0, origin)

    async def add_version(
        self, skill: SkillDefinition, expected_version: str, origin: str = EDITED
    ) -> StoredSkill:
        current = await self.get(skill.name)
        newest = current.definition.version
        if expected_version and expected_version != newest:
            raise PlatformError(
                errors.VERSION_CONFLICT,
                f"skill {skill.name!r} is at version {newest}, not {expected_version}",
                metadata={"actual_version": newest},
            )
        if version_key(skill.version) <= version_key(newest):
            raise PlatformError(
                errors.VERSION_NOT_HIGHER,
                f"version {skill.version} is not higher than the newest, {newest}",
                field="skill.version",
            )
        return await self._write(skill, current.revision, origin)

    async def rewrite_shipped(self, skill: SkillDefinition, stored: StoredSkill) -> StoredSkill:
        """A shipped skill whose YAML changed: a new version, or, when its version was not
        raised, that version rewritten (nobody but the platform has written it)."""
        if version_key(skill.version) > version_key(stored.definition.version):
            return await self.add_version(skill, stored.definition.version, SHIPPED)
        return await self._write(skill, stored.revision, SHIPPED)

    async def _write(
        self, skill: SkillDefinition, expected_revision: int, origin: str
    ) -> StoredSkill:
        content: dict[str, Any] = {**skill.content(), "origin": origin}
        if origin == SHIPPED:
            content["shipped_digest"] = shipped_digest(skill)
        try:
            with calling("l01"):
                document = await self._current.put(skill.name, content, expected_revision)
        except RevisionConflict:
            if expected_revision == 0:
                raise PlatformError(
                    errors.SKILL_EXISTS, f"skill {skill.name!r} exists", field="skill.name"
                ) from None
            raise PlatformError(
                errors.VERSION_CONFLICT,
                f"skill {skill.name!r} got another version meanwhile; read it and retry",
            ) from None
        with calling("l01"):
            await self._versions.put(f"{skill.name}@{skill.version}", content, None)
        return _skill(document)
