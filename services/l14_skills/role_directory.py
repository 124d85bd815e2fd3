"""The roles that exist, asked of L13 through its generated client."""

from __future__ import annotations

import grpc

from agentic.roles.v1 import roles_pb2 as roles_pb
from agentic.roles.v1 import roles_pb2_grpc as roles_grpc
from services.kit.documents import caller_metadata
from services.l14_skills.upstream import calling


class RoleDirectory:
    def __init__(self, l13: grpc.aio.Channel) -> None:
        self._roles = roles_grpc.RoleServiceStub(l13)

    async def names(self) -> set[str]:
        """Every role's name, deprecated ones included (a skill may still name them)."""
        found: set[str] = set()
        token = ""
        with calling("l13"):
            while True:
                reply = await self._roles.ListRoles(
                    roles_pb.ListRolesRequest(
                        page_size=100, page_token=token, show_deprecated=True
                    ),
                    metadata=caller_metadata(),
                )
                found.update(role.name for role in reply.roles)
                token = reply.next_page_token
                if not token:
                    return found
