"""What an agent is told of its role and skills: L13's context for the role and the task (the
role's prompt, responsibilities, skills and tools, trimmed to a budget) and L14's texts for
its skills (the most relevant to the task first, the least relevant left out when they do not
fit a budget).

Fetched once per run. A role or skill the other layers do not know, or a layer that does not
answer, leaves the agent with the names alone; a note says why, and the run goes on.
"""

from __future__ import annotations

import grpc

from agentic.roles.v1 import roles_pb2 as roles_pb
from agentic.roles.v1 import roles_pb2_grpc as roles_grpc
from agentic.skills.v1 import skills_pb2 as skills_pb
from agentic.skills.v1 import skills_pb2_grpc as skills_grpc
from services.l02_runtime.run_types import RunContext, RunSpec

CALL_SECONDS = 15.0
MAX_TASK_CHARS = 200_000  # BuildContext's and PlanLoading's limit on the task
_UNKNOWN = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)


class ContextSource:
    def __init__(
        self,
        roles: roles_grpc.RoleServiceStub,
        skills: skills_grpc.SkillServiceStub,
        role_tokens: int,
        skill_tokens: int,
    ) -> None:
        self._roles = roles
        self._skills = skills
        self._role_tokens = role_tokens
        self._skill_tokens = skill_tokens

    async def fetch(self, spec: RunSpec, metadata: tuple[tuple[str, str], ...]) -> RunContext:
        notes: list[str] = []
        role = await self._role(spec, metadata, notes) if spec.role else ""
        skills = await self._skill_texts(spec, metadata, notes) if spec.skills else []
        return RunContext(role, skills, notes)

    async def _role(
        self, spec: RunSpec, metadata: tuple[tuple[str, str], ...], notes: list[str]
    ) -> str:
        request = roles_pb.BuildContextRequest(
            name=spec.role, task=spec.task[:MAX_TASK_CHARS], token_budget=self._role_tokens
        )
        try:
            reply = await self._build_context(request, metadata)
        except grpc.aio.AioRpcError as error:
            notes.append(f"role {spec.role}: no context from L13 ({_why(error)})")
            return ""
        if reply.truncated:
            trimmed = ", ".join(reply.trimmed_sections)
            notes.append(
                f"role {spec.role}: context cut to {reply.token_budget} tokens ({trimmed})"
            )
        return reply.context

    async def _build_context(
        self, request: roles_pb.BuildContextRequest, metadata: tuple[tuple[str, str], ...]
    ) -> roles_pb.BuildContextResponse:
        try:
            return await self._roles.BuildContext(request, metadata=metadata, timeout=CALL_SECONDS)
        except grpc.aio.AioRpcError as error:
            # A role whose own budget is smaller than L02's: L13 refuses a larger one.
            if error.code() is not grpc.StatusCode.INVALID_ARGUMENT or "budget" not in (
                error.details() or ""
            ):
                raise
        request.token_budget = 0
        return await self._roles.BuildContext(request, metadata=metadata, timeout=CALL_SECONDS)

    async def _skill_texts(
        self, spec: RunSpec, metadata: tuple[tuple[str, str], ...], notes: list[str]
    ) -> list[str]:
        names = list(dict.fromkeys(spec.skills))
        try:
            try:
                plan = await self._plan(names, spec.task, metadata)
            except grpc.aio.AioRpcError as error:
                if error.code() not in _UNKNOWN:
                    raise
                # A skill L14 does not know (E14001 names it): the others go without it.
                names = await self._known(names, metadata, notes)
                if not names:
                    return []
                plan = await self._plan(names, spec.task, metadata)
        except grpc.aio.AioRpcError as error:
            notes.append(f"skills: no instructions from L14 ({_why(error)})")
            return []
        if plan.dropped:
            left_out = ", ".join(s.name for s in plan.dropped)
            notes.append(f"skills left out to fit {plan.token_budget} tokens: {left_out}")
        return [s.text for s in plan.load]

    async def _plan(
        self, names: list[str], task: str, metadata: tuple[tuple[str, str], ...]
    ) -> skills_pb.PlanLoadingResponse:
        request = skills_pb.PlanLoadingRequest(
            skills=names, token_budget=self._skill_tokens, task=task[:MAX_TASK_CHARS]
        )
        return await self._skills.PlanLoading(request, metadata=metadata, timeout=CALL_SECONDS)

    async def _known(
        self, names: list[str], metadata: tuple[tuple[str, str], ...], notes: list[str]
    ) -> list[str]:
        """The skills L14 knows, in the order given (each unknown one noted)."""
        known = []
        for name in names:
            try:
                await self._skills.GetSkill(
                    skills_pb.GetSkillRequest(name=name), metadata=metadata, timeout=CALL_SECONDS
                )
            except grpc.aio.AioRpcError as error:
                if error.code() not in _UNKNOWN:
                    raise
                notes.append(f"skill {name}: unknown to L14")
                continue
            known.append(name)
        return known


def _why(error: grpc.aio.AioRpcError) -> str:
    return f"{error.code().name}: {error.details() or ''}".strip()
