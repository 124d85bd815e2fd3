"""Skill sets of roles and agents, in L01 documents ``l14-skill-sets/{kind}.{id}``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import grpc

from services.kit import PlatformError
from services.kit.documents import DocumentCollection
from services.l14_skills import errors
from services.l14_skills.definitions import invalid_skill
from services.l14_skills.upstream import calling

COLLECTION = "l14-skill-sets"
OWNER_KINDS = ("roles", "agents")
MAX_SKILLS = 100
_OWNER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,200}$")


@dataclass(frozen=True)
class SkillSet:
    owner_kind: str
    owner_id: str
    skills: tuple[str, ...]
    revision: int


def check_owner(kind: str, owner_id: str) -> None:
    problems = []
    if kind not in OWNER_KINDS:
        problems.append(("owner_kind", "'roles' or 'agents'"))
    if not _OWNER_ID.match(owner_id):
        problems.append(("owner_id", "1-200 letters, digits, '_', '-', '.', '@'"))
    if problems:
        raise invalid_skill(problems)


class SkillSets:
    def __init__(self, l01: grpc.aio.Channel) -> None:
        self._documents = DocumentCollection(l01, COLLECTION)

    async def assign(self, kind: str, owner_id: str, skills: tuple[str, ...]) -> SkillSet:
        with calling("l01"):
            stored = await self._documents.put(
                f"{kind}.{owner_id}",
                {"owner_kind": kind, "owner_id": owner_id, "skills": list(skills)},
                None,
            )
        return SkillSet(kind, owner_id, skills, stored.revision)

    async def get(self, kind: str, owner_id: str) -> SkillSet:
        check_owner(kind, owner_id)
        with calling("l01"):
            stored = await self._documents.get(f"{kind}.{owner_id}")
        if stored is None:
            raise PlatformError(
                errors.SKILL_NOT_FOUND, f"no skill set for {kind}/{owner_id}", field="owner_id"
            )
        return SkillSet(kind, owner_id, tuple(stored.content["skills"]), stored.revision)
