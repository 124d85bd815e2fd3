"""SkillService servicer: maps RPCs to the domain (``skills.Skills``), and back."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import json_format

from agentic.skills.v1 import skills_pb2 as pb
from agentic.skills.v1 import skills_pb2_grpc as pb_grpc
from services.kit.documents import plain
from services.l14_skills.catalog import StoredSkill
from services.l14_skills.definitions import ACTIVE, DEPRECATED, DRAFT, invalid_skill
from services.l14_skills.loading import Candidate
from services.l14_skills.skill_sets import SkillSet
from services.l14_skills.skills import Skills

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SkillService"].full_name
DEFAULT_PAGE = 50
MAX_PAGE = 100
_STATUS = {
    pb.SKILL_STATUS_DRAFT: DRAFT,
    pb.SKILL_STATUS_ACTIVE: ACTIVE,
    pb.SKILL_STATUS_DEPRECATED: DEPRECATED,
}
_STATUS_MESSAGE = {value: key for key, value in _STATUS.items()}


def _status(value: int, field: str) -> str:
    """ "" for unspecified; INVALID_ARGUMENT for a number outside the enum."""
    if value == pb.SKILL_STATUS_UNSPECIFIED:
        return ""
    if value not in _STATUS:
        raise invalid_skill([(field, f"unknown status {value}")])
    return _STATUS[value]


def skill_fields(skill: pb.Skill) -> dict[str, Any]:
    """The fields of a Skill message as the domain checks them (output-only ones ignored)."""
    return {
        "name": skill.name, "version": skill.version, "category": skill.category,
        "description": skill.description, "instructions": skill.instructions,
        "required_tools": list(skill.required_tools), "roles": list(skill.roles),
        "parameters": plain(json_format.MessageToDict(skill.parameters)),
        "examples": [{"input": e.input, "output": e.output} for e in skill.examples],
        "status": _status(skill.status, "skill.status") or ACTIVE,
    }  # fmt: skip


def to_message(stored: StoredSkill) -> pb.Skill:
    skill = stored.definition
    message = pb.Skill(
        name=skill.name, version=skill.version, category=skill.category,
        description=skill.description, instructions=skill.instructions,
        required_tools=skill.required_tools, roles=skill.roles,
        examples=[pb.SkillExample(input=e["input"], output=e["output"]) for e in skill.examples],
        status=_STATUS_MESSAGE[skill.status],
    )  # fmt: skip
    message.parameters.update(dict(skill.parameters))
    message.create_time.FromDatetime(stored.update_time)
    return message


def _planned(candidate: Candidate, with_text: bool) -> pb.PlannedSkill:
    return pb.PlannedSkill(
        name=candidate.name, version=candidate.version,
        tokens=candidate.tokens, relevance=candidate.relevance,
        text=candidate.text if with_text else "",
    )  # fmt: skip


def _skill_set(found: SkillSet) -> pb.SkillSet:
    return pb.SkillSet(
        owner_kind=found.owner_kind,
        owner_id=found.owner_id,
        skills=found.skills,
        revision=found.revision,
    )


def _required(value: str, field: str) -> str:
    if not value:
        raise invalid_skill([(field, "is required")])
    return value


class SkillServicer(pb_grpc.SkillServiceServicer):
    def __init__(self, skills: Skills) -> None:
        self._skills = skills

    async def ListSkills(
        self, request: pb.ListSkillsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSkillsResponse:
        if not 0 <= request.page_size <= MAX_PAGE:
            raise invalid_skill([("page_size", f"0 (= {DEFAULT_PAGE}) to {MAX_PAGE}")])
        found, token = await self._skills.catalog.page(
            request.category,
            _status(request.status, "status"),
            request.page_size or DEFAULT_PAGE,
            request.page_token,
        )
        return pb.ListSkillsResponse(skills=[to_message(s) for s in found], next_page_token=token)

    async def GetSkill(
        self, request: pb.GetSkillRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSkillResponse:
        stored = await self._skills.catalog.get(_required(request.name, "name"), request.version)
        return pb.GetSkillResponse(skill=to_message(stored))

    async def ListSkillVersions(
        self, request: pb.ListSkillVersionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSkillVersionsResponse:
        found = await self._skills.catalog.versions(_required(request.name, "name"))
        return pb.ListSkillVersionsResponse(versions=[to_message(s) for s in found])

    async def CreateSkill(
        self, request: pb.CreateSkillRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSkillResponse:
        stored = await self._skills.create(skill_fields(request.skill))
        return pb.CreateSkillResponse(skill=to_message(stored))

    async def UpdateSkill(
        self, request: pb.UpdateSkillRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateSkillResponse:
        fields = skill_fields(request.skill)
        if request.name and request.skill.name and request.name != request.skill.name:
            raise invalid_skill(
                [("skill.name", f"{request.skill.name!r} differs from the name {request.name!r}")]
            )
        fields["name"] = request.name or request.skill.name
        stored = await self._skills.update(fields, request.expected_version)
        return pb.UpdateSkillResponse(skill=to_message(stored))

    async def ValidateSkill(
        self, request: pb.ValidateSkillRequest, context: grpc.aio.ServicerContext
    ) -> pb.ValidateSkillResponse:
        _, problems = await self._skills.problems(skill_fields(request.skill))
        return pb.ValidateSkillResponse(
            valid=not problems,
            violations=[pb.Violation(field=f, description=d) for f, d in problems],
        )

    async def SearchSkills(
        self, request: pb.SearchSkillsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchSkillsResponse:
        found = await self._skills.search(
            request.query, request.limit, request.category, _status(request.status, "status")
        )
        return pb.SearchSkillsResponse(
            matches=[
                pb.SkillMatch(
                    name=skill.name,
                    score=score,
                    version=skill.version,
                    category=skill.category,
                    description=skill.description,
                )
                for skill, score in found
            ]
        )

    async def AssignSkills(
        self, request: pb.AssignSkillsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AssignSkillsResponse:
        found = await self._skills.assign(
            request.owner_kind, request.owner_id, list(request.skills)
        )
        return pb.AssignSkillsResponse(skill_set=_skill_set(found))

    async def GetSkillSet(
        self, request: pb.GetSkillSetRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSkillSetResponse:
        found = await self._skills.sets.get(request.owner_kind, request.owner_id)
        return pb.GetSkillSetResponse(skill_set=_skill_set(found))

    async def PlanLoading(
        self, request: pb.PlanLoadingRequest, context: grpc.aio.ServicerContext
    ) -> pb.PlanLoadingResponse:
        plan = await self._skills.plan(list(request.skills), request.token_budget, request.task)
        return pb.PlanLoadingResponse(
            load=[_planned(c, with_text=True) for c in plan.load],
            dropped=[_planned(c, with_text=False) for c in plan.dropped],
            total_tokens=plan.total_tokens,
            token_budget=plan.budget,
        )
