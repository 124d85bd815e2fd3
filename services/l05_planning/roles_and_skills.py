"""The roles (L13) and skills (L14) a plan may name, and a role for a task that has none,
asked of the layers that own them through their generated clients.

The two lists change rarely and every goal needs them: each is kept for ``NAMES_TTL_SECONDS``,
so a role or skill created meanwhile is plannable within that time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import grpc

from agentic.roles.v1 import roles_pb2 as roles_pb
from agentic.roles.v1 import roles_pb2_grpc as roles_grpc
from agentic.skills.v1 import skills_pb2 as skills_pb
from agentic.skills.v1 import skills_pb2_grpc as skills_grpc

Metadata = tuple[tuple[str, str], ...]
_PAGE = 100  # the most either layer hands out per page
NAMES_TTL_SECONDS = 30.0


class RolesAndSkills:
    def __init__(
        self,
        l13: grpc.aio.Channel,
        l14: grpc.aio.Channel,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._roles = roles_grpc.RoleServiceStub(l13)
        self._skills = skills_grpc.SkillServiceStub(l14)
        self._clock = clock
        self._kept: dict[str, tuple[float, list[str]]] = {}  # list -> (when, names)

    async def role_names(self, metadata: Metadata) -> list[str]:
        """The roles a task may take today (deprecated ones are left out)."""
        return await self._kept_for("roles", lambda: self._list_roles(metadata))

    async def skill_names(self, metadata: Metadata) -> list[str]:
        return await self._kept_for("skills", lambda: self._list_skills(metadata))

    async def _kept_for(self, key: str, fetch: Callable[[], Awaitable[list[str]]]) -> list[str]:
        kept = self._kept.get(key)
        if kept is not None and self._clock() - kept[0] < NAMES_TTL_SECONDS:
            return kept[1]
        names = await fetch()
        self._kept[key] = (self._clock(), names)
        return names

    async def _list_roles(self, metadata: Metadata) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            reply = await self._roles.ListRoles(
                roles_pb.ListRolesRequest(page_size=_PAGE, page_token=token), metadata=metadata
            )
            names.extend(role.name for role in reply.roles)
            token = reply.next_page_token
            if not token:
                return sorted(names)

    async def _list_skills(self, metadata: Metadata) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            reply = await self._skills.ListSkills(
                skills_pb.ListSkillsRequest(page_size=_PAGE, page_token=token), metadata=metadata
            )
            names.extend(skill.name for skill in reply.skills)
            token = reply.next_page_token
            if not token:
                return sorted(names)

    async def classify(self, text: str, metadata: Metadata) -> str:
        """The best-matching role for a task's description; empty when L13 finds none."""
        reply = await self._roles.ClassifyTask(
            roles_pb.ClassifyTaskRequest(text=text, limit=1), metadata=metadata
        )
        return reply.matches[0].name if reply.matches else ""
