"""L02 against the real mesh: agents through Envoy, the agent loop with a scripted model and
the real tools layer, crash recovery without a repeated tool call."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest

from agentic.data.v1 import documents_pb2 as documents_pb
from agentic.data.v1 import documents_pb2_grpc, event_store_pb2_grpc
from agentic.data.v1 import event_store_pb2 as events_pb
from agentic.runtime.v1 import agents_pb2 as pb
from agentic.runtime.v1 import agents_pb2_grpc
from services.kit import open_channel
from tests.l02.conftest import Refused, RuntimeProcess, ScriptedModel, call_tool, finish
from tests.support import DEV_TOKEN, platform_code, rest_reason

pytestmark = [pytest.mark.integration, pytest.mark.l02]


def new_agent(**fields: object) -> dict:
    return {"display_name": f"agent {uuid.uuid4().hex[:6]}", **fields}


# -- the resource through the gateway -----------------------------------------------------------


async def test_create_get_and_list_agents_through_rest(rest: httpx.AsyncClient) -> None:
    created = await rest.post(
        "/v1/agents", json=new_agent(role="debugger", allowed_tools=["python_exec"])
    )
    assert created.status_code == 200, created.text
    agent = created.json()["agent"]
    assert agent["state"] == "AGENT_STATE_CREATED" and agent["name"].startswith("agents/")
    assert agent["budgets"]["max_steps"] == 8 and agent["owner"]
    got = await rest.get(f"/v1/{agent['name']}")
    assert got.status_code == 200 and got.json()["agent"]["display_name"] == agent["display_name"]
    listed = await rest.get(
        "/v1/agents", params={"role": "debugger", "state": "AGENT_STATE_CREATED"}
    )
    assert listed.status_code == 200
    names = [a["name"] for a in listed.json()["agents"]]
    assert agent["name"] in names
    assert all(a["role"] == "debugger" for a in listed.json()["agents"])


async def test_illegal_transitions_are_refused_naming_both_states(rest: httpx.AsyncClient) -> None:
    agent = (await rest.post("/v1/agents", json=new_agent())).json()["agent"]
    paused = await rest.post(f"/v1/{agent['name']}:pause", json={})
    assert paused.status_code == 400 and rest_reason(paused.json()) == "E2004"
    assert "CREATED" in paused.json()["message"] and "PAUSED" in paused.json()["message"]
    ended = await rest.post(f"/v1/{agent['name']}:terminate", json={"reason": "done"})
    assert ended.status_code == 200 and ended.json()["agent"]["state"] == "AGENT_STATE_TERMINATED"
    again = await rest.post(f"/v1/{agent['name']}:resume", json={})
    assert again.status_code == 400 and rest_reason(again.json()) == "E2004"
    run = await rest.post(f"/v1/{agent['name']}:run", json={"task": "anything"})
    assert run.status_code == 400 and rest_reason(run.json()) == "E2004"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "display_name"),
        ({"display_name": "x" * 200}, "display_name"),
        ({"display_name": "a", "allowed_tools": ["no spaces allowed"]}, "allowed_tools"),
        ({"display_name": "a", "allowed_tools": ["shell", "shell"]}, "allowed_tools"),
        ({"display_name": "a", "budgets": {"max_steps": 1000}}, "max_steps"),
        ({"display_name": "a", "budgets": {"max_tokens": -5}}, "max_tokens"),
        ({"display_name": "a", "model_policy": {"temperature": 7}}, "temperature"),
        ({"display_name": "a", "model_policy": {"strategy": "vibes"}}, "strategy"),
    ],
)
async def test_bad_agents_are_refused_naming_the_field(
    rest: httpx.AsyncClient, body: dict, field: str
) -> None:
    response = await rest.post("/v1/agents", json=body)
    assert response.status_code == 400, response.text
    assert rest_reason(response.json()) == "E2002"
    assert field in response.json()["message"]


async def test_bad_names_tasks_and_unknown_agents(rest: httpx.AsyncClient) -> None:
    assert rest_reason((await rest.get("/v1/agents/nope-" + uuid.uuid4().hex)).json()) == "E2003"
    agent = (await rest.post("/v1/agents", json=new_agent())).json()["agent"]
    empty = await rest.post(f"/v1/{agent['name']}:run", json={"task": "  "})
    assert empty.status_code == 400 and "task" in empty.json()["message"]
    huge = await rest.post(f"/v1/{agent['name']}:run", json={"task": "x" * 40_000})
    assert huge.status_code == 400 and "32000" in huge.json()["message"]
    taken = await rest.post(
        "/v1/agents", json={"display_name": "a"}, params={"agent_id": "bad id!"}
    )
    assert taken.status_code == 400


async def test_input_l01_could_not_store_is_refused_by_l02_naming_it(
    rest: httpx.AsyncClient,
) -> None:
    nul = await rest.post("/v1/agents", json={"display_name": "a\u0000b"})
    assert nul.status_code == 400 and rest_reason(nul.json()) == "E2002", nul.text
    assert "display_name" in nul.json()["message"]
    dash = await rest.post("/v1/agents", json=new_agent(), params={"agent_id": "-lead"})
    assert dash.status_code == 400 and rest_reason(dash.json()) == "E2002", dash.text
    token = await rest.get("/v1/agents", params={"page_token": "not-a-token"})
    assert token.status_code == 400 and rest_reason(token.json()) == "E2002", token.text
    assert "page_token" in token.json()["message"]


async def test_an_agent_id_is_used_once(rest: httpx.AsyncClient) -> None:
    agent_id = f"fixed-{uuid.uuid4().hex[:8]}"
    first = await rest.post("/v1/agents", json=new_agent(), params={"agent_id": agent_id})
    assert first.status_code == 200
    second = await rest.post("/v1/agents", json=new_agent(), params={"agent_id": agent_id})
    assert second.status_code == 409 and rest_reason(second.json()) == "E2005"


async def test_a_created_agent_is_its_event_and_its_projection_in_l01(
    rest: httpx.AsyncClient, l01_channel: grpc.aio.Channel
) -> None:
    """Both are written by the one L01 call CreateAgent makes, in one transaction."""
    agent = (await rest.post("/v1/agents", json=new_agent(role="debugger"))).json()["agent"]
    agent_id = agent["name"].split("/")[1]
    events = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    stream = await events.ReadStream(events_pb.ReadStreamRequest(stream_id=f"agent-{agent_id}"))
    assert [(e.type, e.stream_version) for e in stream.events] == [("agent.created", 0)]
    documents = documents_pb2_grpc.DocumentServiceStub(l01_channel)
    projection = await documents.GetDocument(
        documents_pb.GetDocumentRequest(name=f"collections/agents/documents/{agent_id}")
    )
    content = projection.document.content
    assert projection.document.revision == 1
    assert (content["state"], content["version"], content["spec"]["role"]) == (
        "CREATED",
        0,
        "debugger",
    )


async def test_a_projection_behind_its_stream_is_caught_up_when_read(
    rest: httpx.AsyncClient, l01_channel: grpc.aio.Channel
) -> None:
    """As after a crash between an event and its projection: the next read of the agent
    folds in the events its projection lacks."""
    agent = (await rest.post("/v1/agents", json=new_agent())).json()["agent"]
    agent_id = agent["name"].split("/")[1]
    events = event_store_pb2_grpc.EventStoreServiceStub(l01_channel)
    behind = events_pb.NewEvent(type="agent.state_changed")
    behind.data.update({"state": "TERMINATED", "reason": "projection not written"})
    await events.AppendEvents(
        events_pb.AppendEventsRequest(
            stream_id=f"agent-{agent_id}", expected_version=0, events=[behind]
        )
    )
    got = (await rest.get(f"/v1/{agent['name']}")).json()["agent"]
    assert got["state"] == "AGENT_STATE_TERMINATED"
    assert got["state_reason"] == "projection not written"


# -- the agent loop -----------------------------------------------------------------------------


@pytest.fixture
async def runtime(
    scripted_runtime: RuntimeProcess,
) -> AsyncIterator[agents_pb2_grpc.AgentServiceStub]:
    async with open_channel(scripted_runtime.target, token=DEV_TOKEN) as channel:
        yield agents_pb2_grpc.AgentServiceStub(channel)


async def _create(runtime: agents_pb2_grpc.AgentServiceStub, **fields: object) -> str:
    agent = pb.Agent(display_name="loop", **fields)  # type: ignore[arg-type]
    reply = await runtime.CreateAgent(
        pb.CreateAgentRequest(agent=agent, agent_id=uuid.uuid4().hex[:12])
    )
    return reply.agent.name


async def _finished(
    runtime: agents_pb2_grpc.AgentServiceStub, name: str, timeout: float = 60
) -> pb.GetAgentResponse:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = await runtime.GetAgent(pb.GetAgentRequest(name=name))
        if reply.run.status not in (pb.RUN_STATUS_UNSPECIFIED, pb.RUN_STATUS_RUNNING):
            return reply
        await asyncio.sleep(0.2)
    raise AssertionError(f"the run of {name} did not finish: {reply}")


async def test_the_loop_runs_a_tool_in_the_sandbox_and_feeds_back_its_output(
    runtime, scripted_model: tuple[ScriptedModel, int]
) -> None:
    name = await _create(runtime, allowed_tools=["python_exec"])
    model = scripted_model[0]
    model.scripts[name.split("/")[1]] = [call_tool("python_exec", code="print(6*7)"), finish("42")]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="what is 6*7?"))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED and done.run.answer == "42"
    tool_steps = [s for s in done.run.steps if s.kind == "tool"]
    assert len(tool_steps) == 1 and tool_steps[0].text == "42\n" and tool_steps[0].exit_code == 0
    fed_back = model.requests[name.split("/")[1]][1].messages[-1].content
    assert "42" in fed_back  # the model read the tool's output
    assert done.agent.tool_calls == 1 and done.agent.tokens_used == 40


async def test_an_answer_l04_refused_is_reported_to_the_model_and_its_tokens_counted(
    runtime, scripted_model: tuple[ScriptedModel, int]
) -> None:
    """L04 refuses an answer off the schema after its repair, naming the tokens it spent:
    the model reads why on its next step, and the agent's tokens count them."""
    name = await _create(runtime)
    model = scripted_model[0]
    model.scripts[name.split("/")[1]] = [Refused(120, 80), finish("done")]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="answer in JSON"))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED and done.run.answer == "done"
    first = done.run.steps[0]
    assert "refused" in first.text and first.tokens == 200, first
    assert "refused" in model.requests[name.split("/")[1]][1].messages[-1].content
    assert done.agent.tokens_used == 220  # and the finishing answer's 20


async def test_the_agent_is_told_its_role_and_skills_by_l13_and_l14(
    runtime, scripted_model: tuple[ScriptedModel, int]
) -> None:
    name = await _create(
        runtime,
        role="debugger",
        skills=["debugging", "no_such_skill", "docker"],
        allowed_tools=["python_exec"],
    )
    agent_id = name.split("/")[1]
    scripted_model[0].scripts[agent_id] = [finish("found it")]
    task = "find out why the login handler crashes with a null pointer stack trace"
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task=task))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED
    system = scripted_model[0].requests[agent_id][0].system
    assert "# Role: Debugging Specialist" in system and "## Responsibilities" in system
    (context,) = [s for s in done.run.steps if s.kind == "context"]
    assert "## Skill: debugging (" in system, context.text  # the most relevant skill
    assert context.number == 0
    assert "role debugger: context loaded" in context.text
    assert "skill no_such_skill: unknown to L14" in context.text


async def test_an_unknown_role_leaves_the_agent_its_name_and_says_why(
    runtime, scripted_model: tuple[ScriptedModel, int]
) -> None:
    name = await _create(runtime, role="wizard", allowed_tools=["python_exec"])
    agent_id = name.split("/")[1]
    scripted_model[0].scripts[agent_id] = [finish("ok")]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="do magic"))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED
    assert "acting as a wizard" in scripted_model[0].requests[agent_id][0].system
    (context,) = [s for s in done.run.steps if s.kind == "context"]
    assert "role wizard: no context from L13 (NOT_FOUND" in context.text


async def test_a_tool_outside_the_allow_list_is_refused_and_reported(
    runtime, scripted_model: tuple[ScriptedModel, int]
) -> None:
    name = await _create(runtime, allowed_tools=["python_exec"])
    agent_id = name.split("/")[1]
    scripted_model[0].scripts[agent_id] = [
        call_tool("shell", argv=["rm", "-rf", "/"]),
        finish("ok"),
    ]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="clean up"))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_COMPLETED
    assert done.agent.tool_calls == 0
    refusal = scripted_model[0].requests[agent_id][1].messages[-1].content
    assert "'shell' is not allowed" in refusal


async def test_arguments_the_tool_schema_refuses_are_reported_to_the_model(
    runtime, scripted_model: tuple[ScriptedModel, int]
) -> None:
    name = await _create(runtime, allowed_tools=["python_exec"])
    agent_id = name.split("/")[1]
    scripted_model[0].scripts[agent_id] = [call_tool("python_exec", source="oops"), finish("ok")]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="try"))
    done = await _finished(runtime, name)
    refused = [s for s in done.run.steps if s.kind == "refused"]
    assert refused and "did not run" in refused[0].text
    assert "code" in scripted_model[0].requests[agent_id][1].messages[-1].content


async def test_steps_budget_exhaustion_stops_the_run(runtime, scripted_model) -> None:
    name = await _create(runtime, allowed_tools=["python_exec"], budgets=pb.Budgets(max_steps=2))
    scripted_model[0].scripts[name.split("/")[1]] = [call_tool("python_exec", code="pass")]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="loop forever"))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_BUDGET_EXHAUSTED and "2 steps" in done.run.reason
    assert done.agent.state == pb.AGENT_STATE_RUNNING  # alive, ready for another task


async def test_a_second_run_while_one_is_in_progress_is_refused(runtime, scripted_model) -> None:
    name = await _create(runtime)
    gate = asyncio.Event()
    scripted_model[0].scripts[name.split("/")[1]] = [finish("done")]
    scripted_model[0].gates[name.split("/")[1]] = {1: gate}
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="one"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await runtime.RunAgent(pb.RunAgentRequest(name=name, task="two"))
    assert platform_code(refused.value) == "E2006"
    gate.set()
    assert (await _finished(runtime, name)).run.status == pb.RUN_STATUS_COMPLETED


async def test_pause_resume_and_terminate_reach_the_run(runtime, scripted_model) -> None:
    name = await _create(runtime, allowed_tools=["python_exec"], budgets=pb.Budgets(max_steps=50))
    scripted_model[0].scripts[name.split("/")[1]] = [call_tool("python_exec", code="pass")]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="keep going"))
    await asyncio.sleep(1.0)
    paused = await runtime.PauseAgent(pb.PauseAgentRequest(name=name))
    assert paused.agent.state == pb.AGENT_STATE_PAUSED
    await asyncio.sleep(1.0)
    steps = len((await runtime.GetAgent(pb.GetAgentRequest(name=name))).run.steps)
    await asyncio.sleep(1.5)
    assert len((await runtime.GetAgent(pb.GetAgentRequest(name=name))).run.steps) == steps
    resumed = await runtime.ResumeAgent(pb.ResumeAgentRequest(name=name))
    assert resumed.agent.state == pb.AGENT_STATE_RUNNING
    await runtime.TerminateAgent(pb.TerminateAgentRequest(name=name, reason="enough"))
    done = await _finished(runtime, name)
    assert done.run.status == pb.RUN_STATUS_CANCELLED
    assert done.agent.state == pb.AGENT_STATE_TERMINATED and done.agent.state_reason == "enough"


async def test_watch_streams_state_changes_and_steps_from_a_version(
    runtime, scripted_model
) -> None:
    name = await _create(runtime, allowed_tools=["python_exec"])
    scripted_model[0].scripts[name.split("/")[1]] = [
        call_tool("python_exec", code="print(1)"),
        finish("1"),
    ]
    await runtime.RunAgent(pb.RunAgentRequest(name=name, task="print one"))
    await _finished(runtime, name)
    await runtime.TerminateAgent(pb.TerminateAgentRequest(name=name))
    seen = [e async for e in runtime.WatchAgent(pb.WatchAgentRequest(name=name, from_version=1))]
    types = [e.type for e in seen]
    assert types[0] == "agent.created" and types[1] == "agent.run_started"
    assert types.count("agent.step_recorded") == 3 and "agent.run_finished" in types
    assert types[-1] == "agent.state_changed"
    assert [e.version for e in seen] == list(range(len(seen)))
    later = [e async for e in runtime.WatchAgent(pb.WatchAgentRequest(name=name, from_version=3))]
    assert [e.version for e in later] == [e.version for e in seen[2:]]


async def test_kill_9_mid_run_goes_on_without_repeating_a_tool_call(
    scripted_runtime: RuntimeProcess, scripted_model: tuple[ScriptedModel, int]
) -> None:
    """The tool appends a line to a file of the run's workspace: after the runtime is killed
    while the model thinks about the next step, the run goes on from Temporal's history and
    the file still has one line."""
    async with open_channel(scripted_runtime.target, token=DEV_TOKEN) as channel:
        runtime = agents_pb2_grpc.AgentServiceStub(channel)
        name = await _create(runtime, allowed_tools=["python_exec"])
        agent_id = name.split("/")[1]
        gate = asyncio.Event()
        count = "import os; print(open('count.txt').read().count('x'))"
        scripted_model[0].scripts[agent_id] = [
            call_tool("python_exec", code="open('count.txt', 'a').write('x')"),
            call_tool("python_exec", code=count),
            finish("done"),
        ]
        scripted_model[0].gates[agent_id] = {2: gate}
        await runtime.RunAgent(pb.RunAgentRequest(name=name, task="count once"))
        deadline = time.monotonic() + 60
        while not any(
            s.kind == "tool"
            for s in (await runtime.GetAgent(pb.GetAgentRequest(name=name))).run.steps
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    scripted_runtime.kill()
    scripted_runtime.start()
    gate.set()
    async with open_channel(scripted_runtime.target, token=DEV_TOKEN) as channel:
        runtime = agents_pb2_grpc.AgentServiceStub(channel)
        done = await _finished(runtime, name, timeout=120)
    assert done.run.status == pb.RUN_STATUS_COMPLETED
    tools = [s for s in done.run.steps if s.kind == "tool"]
    assert [s.text for s in tools] == ["", "1\n"], done.run.steps  # the append ran once


@pytest.mark.slow
async def test_a_run_on_the_offline_model_through_the_gateway(rest: httpx.AsyncClient) -> None:
    """The embedded SmolLM2-135M decides through L04's constrained output: whatever it decides,
    the run ends on its own with every step recorded, and any tool call it makes went through
    the allow-list and the tool's schema."""
    agent = (
        await rest.post(
            "/v1/agents",
            json=new_agent(allowed_tools=["python_exec"], budgets={"max_steps": 3}),
        )
    ).json()["agent"]
    started = await rest.post(f"/v1/{agent['name']}:run", json={"task": "Print 2+2 with Python."})
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + 300
    while True:
        body = (await rest.get(f"/v1/{agent['name']}")).json()
        if body["run"]["status"] != "RUN_STATUS_RUNNING":
            break
        assert time.monotonic() < deadline, body
        await asyncio.sleep(1)
    run = body["run"]
    assert run["status"] in ("RUN_STATUS_COMPLETED", "RUN_STATUS_BUDGET_EXHAUSTED"), run
    assert run["steps"] and all(
        step["kind"] in ("model", "tool", "refused") for step in run["steps"]
    )
    for step in run["steps"]:
        if step["kind"] == "tool":
            assert step["tool"] == "python_exec"
    used = sum(int(step.get("tokens", 0)) for step in run["steps"])
    # Every answer the model gave was paid for, one L04 refused (cut off, or off the schema
    # after its repair) too: its refusal names what it spent.
    assert int(body["agent"]["tokens_used"]) == used > 0


async def test_watch_through_rest_is_ndjson_and_ends_with_a_final_agent(
    rest: httpx.AsyncClient,
) -> None:
    agent = (await rest.post("/v1/agents", json=new_agent())).json()["agent"]
    await rest.post(f"/v1/{agent['name']}:terminate", json={"reason": "seen"})
    response = await rest.get(f"/v1/{agent['name']}:watch", params={"from_version": 1})
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    events = [line.get("result", line) for line in lines]
    assert [e["type"] for e in events] == ["agent.created", "agent.state_changed"]
    assert events[1]["data"] == {"state": "TERMINATED", "reason": "seen"}
