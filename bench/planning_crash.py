"""L05 under `kill -9`: RUNS goals, each with the planning process killed once mid-goal.

Every goal is a then b. Task a's agent appends a line to a file of its run's workspace
(python_exec), then counts the file's lines with a second call, then finishes; b finishes at
once. The planning process is killed at a random moment between the goal's creation and its
end, and started again; the goal must complete, and a's count must be 1 (a count of 2 is a
repeated tool execution). The model is an instant ModelService in this process, as in
``bench.planning``; L05 and L02 run beside the benchmark mesh.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import uuid

import grpc
from temporalio.client import Client

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from agentic.runtime.v1 import agents_pb2 as agents_pb
from agentic.runtime.v1 import agents_pb2_grpc
from bench.own_mesh import run_on_own_mesh
from bench.planning import TOKEN, start_layer
from services.kit import open_channel
from services.launcher.config import LauncherSettings

RUNS = 20
PLAN = {
    "tasks": [
        {"id": "a", "description": "count", "role": "software-engineer", "dependencies": [],
         "tools": ["python_exec"]},
        {"id": "b", "description": "after", "role": "test-engineer", "dependencies": ["a"]},
    ]
}  # fmt: skip
APPEND = {"action": "call_tool", "tool": "python_exec",
          "arguments": {"code": "open('count.txt', 'a').write('x')"}}  # fmt: skip
COUNT = {"action": "call_tool", "tool": "python_exec",
         "arguments": {"code": "print(open('count.txt').read().count('x'))"}}  # fmt: skip


class CountingModel(models_grpc.ModelServiceServicer):
    """Plans a then b; a's agent appends, counts, finishes; every other agent finishes."""

    async def Generate(self, request, context):  # type: ignore[no-untyped-def]
        step = 1 + sum(1 for message in request.messages if message.role == "assistant")
        if request.agent_id.startswith("planner-"):
            answer: dict[str, object] = PLAN
        elif request.agent_id.endswith("-a-1") and step <= 2:
            answer = APPEND if step == 1 else COUNT
        else:
            answer = {"action": "finish", "answer": "done"}
        await asyncio.sleep(0.2)  # a model that thinks a little: the kill lands mid-goal
        reply = models_pb.GenerateResponse(content=json.dumps(answer), provider="counting")
        reply.structured.struct_value.update(answer)
        return reply


async def report(settings: LauncherSettings) -> None:
    server, model_port = await _model_server()
    common = {
        "TEMPORAL_ADDRESS": settings.effective_temporal_address,
        "AGENTIC_L01_TARGET": f"127.0.0.1:{settings.layer_port('l01')}",
        "AGENTIC_L03_TARGET": f"127.0.0.1:{settings.layer_port('l03')}",
        "AGENTIC_L04_TARGET": f"127.0.0.1:{model_port}",
        "AGENTIC_L13_TARGET": f"127.0.0.1:{settings.layer_port('l13')}",
        "AGENTIC_L14_TARGET": f"127.0.0.1:{settings.layer_port('l14')}",
        "AGENTIC_SERVICE_TOKEN": (settings.home / "service_token").read_text().strip(),
    }
    agent_queue = f"bench-agents-{uuid.uuid4().hex[:6]}"
    runtime, runtime_port = start_layer("services.l02_runtime", "L02", common, agent_queue)
    planning_env = {
        **common,
        "AGENTIC_L02_TARGET": f"127.0.0.1:{runtime_port}",
        "L05_AGENT_TASK_QUEUE": agent_queue,
        "L05_PLAN_REUSE": "false",  # the instant model embeds nothing: no plan library
    }
    goal_queue = f"bench-goals-{uuid.uuid4().hex[:6]}"
    planning, planning_port = start_layer("services.l05_planning", "L05", planning_env, goal_queue)
    completed = repeated = 0
    rng = random.Random(5)
    try:
        client = await Client.connect(settings.effective_temporal_address)
        for run in range(RUNS):
            goal_id = f"crash{run}{uuid.uuid4().hex[:8]}"
            async with open_channel(f"127.0.0.1:{planning_port}", token=TOKEN) as channel:
                goals = goals_pb2_grpc.GoalServiceStub(channel)
                await goals.CreateGoal(pb.CreateGoalRequest(goal="count once", goal_id=goal_id))
            await asyncio.sleep(rng.uniform(0.3, 2.5))
            planning.send_signal(signal.SIGKILL)
            planning.wait()
            planning, planning_port = start_layer(
                "services.l05_planning", "L05", planning_env, goal_queue, planning_port
            )
            status = await asyncio.wait_for(
                client.get_workflow_handle(f"goal-{goal_id}").result(), timeout=300
            )
            counts = await _counts(runtime_port, f"{goal_id[:24]}-a-1")
            completed += status == "COMPLETED"
            repeated += sum(1 for count in counts if count != "1")
            print(f"  run {run + 1:2d}: {status}, a's count {counts}", flush=True)
    finally:
        for process in (planning, runtime):
            process.terminate()
            process.wait(timeout=15)
        await server.stop(0)
    print(f"\nkill -9 of the planning layer mid-goal, {RUNS} runs")
    print(f"  completed {completed}/{RUNS}; repeated tool executions {repeated}")
    print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


async def _model_server() -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    models_grpc.add_ModelServiceServicer_to_server(CountingModel(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _counts(runtime_port: int, agent_id: str) -> list[str]:
    """What a's count step printed (one entry per count step recorded)."""
    async with open_channel(f"127.0.0.1:{runtime_port}", token=TOKEN) as channel:
        agents = agents_pb2_grpc.AgentServiceStub(channel)
        reply = await agents.GetAgent(agents_pb.GetAgentRequest(name=f"agents/{agent_id}"))
    steps = [s for s in reply.run.steps if s.kind == "tool"]
    return [s.text.strip() for s in steps[1:]]


def main() -> int:
    return run_on_own_mesh(report)


if __name__ == "__main__":
    sys.exit(main())
