"""L05's lists of L13's roles: kept for a while, asked again once that while is over."""

from __future__ import annotations

from typing import Any

import grpc

from agentic.roles.v1 import roles_pb2 as roles_pb
from services.l05_planning.roles_and_skills import NAMES_TTL_SECONDS, RolesAndSkills


class CountingRoles:
    """Answers ListRoles in two pages, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def ListRoles(self, request: roles_pb.ListRolesRequest, metadata: Any) -> Any:
        self.calls += 1
        if not request.page_token:
            return roles_pb.ListRolesResponse(
                roles=[roles_pb.Role(name="tester")], next_page_token="2"
            )
        return roles_pb.ListRolesResponse(roles=[roles_pb.Role(name="debugger")])


async def test_role_names_are_kept_for_their_ttl_then_asked_again() -> None:
    now = [100.0]
    channel = grpc.aio.insecure_channel("127.0.0.1:9")  # never dialled: the stub is replaced
    team = RolesAndSkills(channel, channel, clock=lambda: now[0])
    roles = CountingRoles()
    team._roles = roles  # type: ignore[assignment]
    assert await team.role_names(()) == ["debugger", "tester"]  # both pages, sorted
    assert roles.calls == 2
    now[0] += NAMES_TTL_SECONDS - 1
    assert await team.role_names(()) == ["debugger", "tester"]
    assert roles.calls == 2
    now[0] += 2
    await team.role_names(())
    assert roles.calls == 4
    await channel.close()
