"""A goal end to end through Envoy's REST with L04 on the Anthropic provider.

No network and no key here, so Anthropic's Messages API is played by L04's own stand-in
(tests/l04/fakes.py), which speaks the real protocol over HTTP: the plan and each agent's
decision are answers of the forced JSON tool L04's adapter asks for. Everything else is real:
a whole mesh of its own, started by the launcher with ANTHROPIC_API_KEY and
ANTHROPIC_BASE_URL pointing at the stand-in (the CLI provider disabled, so Anthropic is the
first usable provider; L04's semantic cache off, so each agent's question reaches the
stand-in instead of a similar earlier one's answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest

from services.l04_models.providers.anthropic_api import ANSWER_TOOL
from tests.conftest import RunningMesh, own_mesh
from tests.l04.fakes import Reply, Script, anthropic_app, anthropic_message, serve
from tests.support import DEV_TOKEN, JWT_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.l05, pytest.mark.slow]

PLAN = {
    "tasks": [
        {"id": "t1", "description": "Write the function", "role": "software-engineer",
         "dependencies": [], "acceptance_criteria": ["it adds"]},
        {"id": "t2", "description": "Review the function", "role": "code-reviewer",
         "dependencies": ["t1"]},
    ]
}  # fmt: skip


def answer(value: Mapping[str, object]) -> Reply:
    return Reply(body=anthropic_message(tool=(ANSWER_TOOL, dict(value)), stop_reason="tool_use"))


@pytest.fixture(scope="module")
async def anthropic_mesh(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[RunningMesh, Script]]:
    script = Script()
    async with serve(anthropic_app(script)) as url:
        with contextlib.ExitStack() as stack:
            home: Path = tmp_path_factory.mktemp("anthropic-mesh")
            mesh = own_mesh(
                home,
                ANTHROPIC_API_KEY="sk-ant-stand-in",
                ANTHROPIC_BASE_URL=url,
                L04_DISABLED_PROVIDERS="claude_code",
                L04_SEMANTIC_CACHE="false",
                L09_JWT_HS256_SECRET=JWT_SECRET,
            )
            # Started in a thread: the stand-in answers on this event loop meanwhile.
            running = await asyncio.to_thread(stack.enter_context, mesh)
            yield running, script


async def test_a_goal_through_rest_on_the_anthropic_provider(
    anthropic_mesh: tuple[RunningMesh, Script],
) -> None:
    running, script = anthropic_mesh
    script.replies += [
        answer(PLAN),
        answer({"action": "finish", "answer": "def add(a, b):\n    return a + b"}),
        answer({"action": "finish", "answer": "Reviewed: correct."}),
    ]
    headers = {"authorization": f"Bearer {DEV_TOKEN}"}
    async with httpx.AsyncClient(
        base_url=running.mesh.gateway_url, headers=headers, timeout=60
    ) as rest:
        created = await rest.post("/v1/goals", json={"goal": "Write a function that adds."})
        assert created.status_code == 200, created.text
        name = created.json()["goal"]["name"]
        deadline = time.monotonic() + 300
        while True:
            goal = (await rest.get(f"/v1/{name}")).json()["goal"]
            if goal["status"] not in ("GOAL_STATUS_PLANNING", "GOAL_STATUS_RUNNING"):
                break
            assert time.monotonic() < deadline, goal
            await asyncio.sleep(0.5)
    assert goal["status"] == "GOAL_STATUS_COMPLETED", goal
    assert [(t["id"], t["role"], t["state"]) for t in goal["tasks"]] == [
        ("t1", "software-engineer", "TASK_STATE_COMPLETED"),
        ("t2", "code-reviewer", "TASK_STATE_COMPLETED"),
    ]
    assert "Reviewed: correct." in goal["result"]
    bodies = [request["body"] for request in script.requests]
    assert len(bodies) == 3 and all(b["tool_choice"]["name"] == ANSWER_TOOL for b in bodies)
    plan_schema = bodies[0]["tools"][0]["input_schema"]
    assert "tasks" in plan_schema["properties"] and "t1" in plan_schema["$defs"]
    assert "You split a goal" in str(bodies[0]["system"])
    # b's agent was given a's output, through the Anthropic request itself.
    assert "return a + b" in str(bodies[2]["messages"])
