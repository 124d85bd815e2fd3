"""RoleService servicer: maps RPCs to the domain (``roles.Roles``), and back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from agentic.roles.v1 import roles_pb2 as pb
from agentic.roles.v1 import roles_pb2_grpc as pb_grpc
from services.kit import PlatformError
from services.l13_roles import errors
from services.l13_roles.catalog import StoredRole
from services.l13_roles.definitions import ACTIVE, validate_role
from services.l13_roles.roles import Roles

# The names of L03's tools, asked when a role names preferred tools.
ToolNames = Callable[[], Awaitable[set[str]]]

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RoleService"].full_name
DEFAULT_PAGE = 50
MAX_PAGE = 100


def definition_fields(role: pb.Role) -> dict[str, Any]:
    """The editable fields of a Role message (output-only ones are ignored)."""
    return {
        "name": role.name, "title": role.title, "description": role.description,
        "responsibilities": list(role.responsibilities), "core_skills": list(role.core_skills),
        "preferred_tools": list(role.preferred_tools), "keywords": list(role.keywords),
        "token_budget": role.token_budget, "layers": list(role.layers), "prompt": role.prompt,
        "examples": list(role.examples),
    }  # fmt: skip


def to_message(stored: StoredRole) -> pb.Role:
    role = stored.definition
    message = pb.Role(
        name=role.name, title=role.title, description=role.description,
        responsibilities=role.responsibilities, core_skills=role.core_skills,
        preferred_tools=role.preferred_tools, keywords=role.keywords,
        token_budget=role.token_budget, layers=role.layers, prompt=role.prompt,
        examples=role.examples,
        state=pb.ROLE_STATE_ACTIVE if role.state == ACTIVE else pb.ROLE_STATE_DEPRECATED,
        revision=stored.revision, deprecation_reason=role.deprecation_reason,
    )  # fmt: skip
    message.update_time.FromDatetime(stored.update_time)
    return message


def _page_size(value: int) -> int:
    if not 0 <= value <= MAX_PAGE:
        raise PlatformError(
            errors.INVALID_ROLE, f"page_size must be 0-{MAX_PAGE}", field="page_size"
        )
    return value or DEFAULT_PAGE


def _name(value: str, field: str = "name") -> str:
    if not value:
        raise PlatformError(errors.INVALID_ROLE, f"{field} is required", field=field)
    return value


def _same_name(path: str, body: str, field: str) -> str:
    """The name of an update, from the path (REST) or the body; they may not disagree."""
    if path and body and path != body:
        raise PlatformError(
            errors.INVALID_ROLE, f"{field} {body!r} differs from the name {path!r}", field=field
        )
    return path or body


class RoleServicer(pb_grpc.RoleServiceServicer):
    def __init__(self, roles: Roles, tools: ToolNames) -> None:
        self._roles = roles
        self._tools = tools

    async def _valid(self, fields: dict[str, Any]) -> Any:
        """The role, its preferred tools checked against L03's when it names any."""
        known = await self._tools() if fields.get("preferred_tools") else set()
        return validate_role(fields, known)

    async def ListRoles(
        self, request: pb.ListRolesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRolesResponse:
        found, token = await self._roles.catalog.page(
            _page_size(request.page_size), request.page_token, request.show_deprecated
        )
        return pb.ListRolesResponse(roles=[to_message(r) for r in found], next_page_token=token)

    async def GetRole(
        self, request: pb.GetRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRoleResponse:
        if request.revision < 0:
            raise PlatformError(errors.INVALID_ROLE, "revision must be >= 0", field="revision")
        stored = await self._roles.catalog.get(_name(request.name), request.revision)
        return pb.GetRoleResponse(role=to_message(stored))

    async def ListRoleRevisions(
        self, request: pb.ListRoleRevisionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRoleRevisionsResponse:
        found = await self._roles.catalog.revisions(_name(request.name))
        return pb.ListRoleRevisionsResponse(revisions=[to_message(r) for r in found])

    async def CreateRole(
        self, request: pb.CreateRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateRoleResponse:
        stored = await self._roles.create(await self._valid(definition_fields(request.role)))
        return pb.CreateRoleResponse(role=to_message(stored))

    async def UpdateRole(
        self, request: pb.UpdateRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateRoleResponse:
        if request.expected_revision < 0:
            raise PlatformError(
                errors.INVALID_ROLE, "expected_revision must be >= 0", field="expected_revision"
            )
        fields = definition_fields(request.role)
        fields["name"] = _same_name(request.name, request.role.name, "role.name")
        stored = await self._roles.update(await self._valid(fields), request.expected_revision)
        return pb.UpdateRoleResponse(role=to_message(stored))

    async def DeprecateRole(
        self, request: pb.DeprecateRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeprecateRoleResponse:
        stored = await self._roles.deprecate(
            _name(request.name), request.reason, request.expected_revision
        )
        return pb.DeprecateRoleResponse(role=to_message(stored))

    async def ClassifyTask(
        self, request: pb.ClassifyTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassifyTaskResponse:
        found = await self._roles.classify(request.text, request.limit)
        return pb.ClassifyTaskResponse(
            matches=[
                pb.RoleMatch(name=m.name, score=m.score, reasons=m.reasons) for m in found.matches
            ],
            needs_oversight=found.needs_oversight,
            oversight_reasons=found.oversight_reasons,
        )

    async def AssignRole(
        self, request: pb.AssignRoleRequest, context: grpc.aio.ServicerContext
    ) -> pb.AssignRoleResponse:
        role, position = await self._roles.assign(_name(request.name), request.agent_id)
        return pb.AssignRoleResponse(
            name=role.definition.name, agent_id=request.agent_id,
            role_revision=role.revision, event_position=position,
        )  # fmt: skip

    async def BuildContext(
        self, request: pb.BuildContextRequest, context: grpc.aio.ServicerContext
    ) -> pb.BuildContextResponse:
        built = await self._roles.context(_name(request.name), request.task, request.token_budget)
        return pb.BuildContextResponse(
            context=built.text, token_count=built.token_count, token_budget=built.token_budget,
            truncated=bool(built.trimmed), trimmed_sections=built.trimmed,
        )  # fmt: skip
