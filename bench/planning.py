"""L05 figures: three-task goals per second beside a bare Temporal workflow of the same shape,
and the orchestration cost of a step of the goal's critical path beside a bare activity's.

The model is an instant ModelService (L04's contract) in this process: the plan is a fixed
three-task diamond top (a, then b and c in parallel) and every agent finishes on its first
step, using no tool. So what is measured is the goal run's own work: Temporal (the goal's
workflow and its tasks' child runs on L02), the goal's and the agents' events in L01, and the
calls from L05 to L02, L03, L13 and L14. Our L05 and L02 processes run beside the benchmark
mesh (pointed at the instant model), and the 16 clients call L05 directly: the mesh's Envoy
routes to the mesh's own L05, whose model is real.

The step cost: one goal at a time, its latency (CreateGoal to the workflow's result) over its
three sequential steps (plan; a; b and c in parallel), beside the bare workflow's latency over
the same three; model and tool time are nil, so what remains is orchestration.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from temporalio.client import Client
from temporalio.types import MethodAsyncNoParam
from temporalio.worker import Worker

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from agentic.planning.v1 import goals_pb2 as pb
from agentic.planning.v1 import goals_pb2_grpc
from bench.bare_goal_workflow import (
    BareChildGoalWorkflow,
    BareGoalWorkflow,
    BareTaskWorkflow,
    goal_noop,
)
from bench.own_mesh import run_on_own_mesh
from bench.process_cpu import component_cpu, cpu_per_item, process_seconds
from bench.stats import percentile
from services.kit import open_channel
from services.launcher import probes
from services.launcher.config import LauncherSettings
from services.launcher.ports import free_port

TOKEN = "dev_key_local_ONLY"
ROOT = Path(__file__).resolve().parents[1]
GOALS = 48
CLIENTS = 16
SEQUENTIAL = 20  # goals one at a time, for the step cost
STEPS = 3  # on the critical path: plan, a, then b and c together
RATE_TARGET = 0.7
STEP_TARGET = 1.3
CpuSnapshot = Callable[[], dict[str, float]]  # CPU seconds so far, per process
PLAN = {
    "tasks": [
        {"id": "a", "description": "first", "role": "software-engineer", "dependencies": []},
        {"id": "b", "description": "second", "role": "test-engineer", "dependencies": ["a"]},
        {"id": "c", "description": "third", "role": "code-reviewer", "dependencies": ["a"]},
    ]
}


class InstantModel(models_grpc.ModelServiceServicer):
    """Plans the fixed diamond top; every agent finishes at once."""

    async def Generate(self, request, context):  # type: ignore[no-untyped-def]
        answer = PLAN if request.agent_id.startswith("planner-") else {
            "action": "finish", "answer": "done",
        }  # fmt: skip
        reply = models_pb.GenerateResponse(content=json.dumps(answer), provider="instant")
        reply.structured.struct_value.update(answer)
        return reply


def start_layer(
    module: str, prefix: str, env: dict[str, str], queue: str, port: int = 0
) -> tuple[subprocess.Popen[bytes], int]:
    """A layer's process on ``port`` (a free one if 0), ready to serve."""
    port = port or free_port()
    full = {
        **os.environ,
        **env,
        f"{prefix}_HOST": "127.0.0.1",
        f"{prefix}_PORT": str(port),
        f"{prefix}_TASK_QUEUE": queue,
        f"{prefix}_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", module], cwd=ROOT, env=full,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):
        if probes.grpc_serving(port) is None:
            return process, port
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the benchmark's {module} did not start")


async def _concurrently(run_one: object, count: int) -> float:
    """Runs ``count`` goals with CLIENTS callers; returns completed goals per second."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    completed = 0

    async def client() -> None:
        nonlocal completed
        while not queue.empty():
            queue.get_nowait()
            done = await run_one()  # type: ignore[operator]
            completed += bool(done)  # after the await: no other client's count is lost

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return completed / (time.perf_counter() - started)


async def _step_ms(run_one: object) -> float:
    """p50 over SEQUENTIAL goals run one at a time of their latency per critical-path step."""
    samples = []
    for _ in range(SEQUENTIAL):
        started = time.perf_counter()
        await run_one()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000 / STEPS)
    return percentile(samples, 0.5)


async def _bare(
    client: Client, run: MethodAsyncNoParam[Any, int] = BareGoalWorkflow.run
) -> tuple[float, float]:
    """(goals/s with CLIENTS clients, p50 ms per step one at a time) of a bare workflow."""
    queue = f"bench-bare-goal-{uuid.uuid4().hex[:6]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BareGoalWorkflow, BareChildGoalWorkflow, BareTaskWorkflow],
        activities=[goal_noop],
    ):

        async def one() -> bool:
            await client.execute_workflow(run, id=uuid.uuid4().hex, task_queue=queue)
            return True

        await _concurrently(one, CLIENTS)  # warm-up
        return await _concurrently(one, GOALS), await _step_ms(one)


async def _goals(
    target: str, client: Client, failures: list[str], cpu: CpuSnapshot
) -> tuple[float, float, dict[str, float]]:
    """(completed goals/s with CLIENTS clients, p50 ms per step one at a time, CPU ms per goal
    of each process while the clients ran); each goal that did not complete adds its reason
    to ``failures``."""
    async with open_channel(target, token=TOKEN, timeout=60) as channel:
        goals = goals_pb2_grpc.GoalServiceStub(channel)

        async def one() -> bool:
            try:
                created = await goals.CreateGoal(pb.CreateGoalRequest(goal="three tasks"))
            except grpc.aio.AioRpcError as error:
                failures.append(f"CreateGoal: {error.code().name}: {error.details()}")
                return False
            goal_id = created.goal.name.split("/")[1]
            status = await client.get_workflow_handle(f"goal-{goal_id}").result()
            if status != "COMPLETED":
                goal = await goals.GetGoal(pb.GetGoalRequest(name=created.goal.name))
                failures.append(f"goal {goal_id} ended {status}: {goal.goal.reason}")
                return False
            return True

        await _concurrently(one, CLIENTS)  # warm-up
        before = cpu()
        rate = await _concurrently(one, GOALS)
        spent = cpu_per_item(before, cpu(), GOALS)
        return rate, await _step_ms(one), spent


async def report(settings: LauncherSettings) -> None:
    server = grpc.aio.server()
    models_grpc.add_ModelServiceServicer_to_server(InstantModel(), server)
    model_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
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
    planning, planning_port = start_layer(
        "services.l05_planning",
        "L05",
        {
            **common,
            "AGENTIC_L02_TARGET": f"127.0.0.1:{runtime_port}",
            "L05_AGENT_TASK_QUEUE": agent_queue,
            # Every goal is planned (the instant model embeds nothing): orchestration is timed.
            "L05_PLAN_REUSE": "false",
        },
        f"bench-goals-{uuid.uuid4().hex[:6]}",
    )
    try:
        client = await Client.connect(settings.effective_temporal_address)
        bare, bare_step = await _bare(client)
        children, children_step = await _bare(client, BareChildGoalWorkflow.run)
        failures: list[str] = []

        def cpu() -> dict[str, float]:
            # The mesh's components, and beside them the benchmark's own L05, L02 and this
            # process (the 16 clients, the instant model and the Temporal client).
            return {
                **component_cpu(settings),
                "l05 (benchmark's)": process_seconds(planning.pid),
                "l02 (benchmark's)": process_seconds(runtime.pid),
                "benchmark process": process_seconds(os.getpid()),
            }

        goals, goal_step, spent = await _goals(f"127.0.0.1:{planning_port}", client, failures, cpu)
    finally:
        for process in (planning, runtime):
            process.terminate()
            process.wait(timeout=15)
        await server.stop(0)
    ratio = goals / bare
    print(f"\nThree-task goals (a, then b and c in parallel), {GOALS} goals, {CLIENTS} clients")
    print(f"  bare temporalio workflow of the same shape  {bare:7.1f} goals/s")
    print(f"  the same, each task a child workflow        {children:7.1f} goals/s"
          f" ({children / bare:.2f}x: the most a goal of child runs can reach)")  # fmt: skip
    print(f"  L05 goal run (L05 + L02 agents + L01)       {goals:7.1f} goals/s (completed)")
    for failure in failures:
        print(f"  not completed: {failure[:300]}")
    verdict = "met" if ratio >= RATE_TARGET else "MISSED"
    print(f"  ratio {ratio:.2f}x; target >= {RATE_TARGET}x: {verdict}")
    print(f"  CPU per goal while the clients ran: {sum(spent.values()):.0f} ms in all")
    for name, ms in spent.items():
        print(f"    {name:28s} {ms:7.1f} ms")
    step_ratio = goal_step / bare_step
    print(f"\nOne goal at a time, {SEQUENTIAL} goals: p50 latency per critical-path step")
    print(f"  bare temporalio workflow (one no-op activity)  {bare_step:7.1f} ms")
    print(f"  the same, each task a child workflow           {children_step:7.1f} ms"
          f" ({children_step / bare_step:.2f}x)")  # fmt: skip
    print(f"  L05 goal run (a task: its agent, its child run) {goal_step:7.1f} ms")
    verdict = "met" if step_ratio <= STEP_TARGET else "MISSED"
    print(f"  ratio {step_ratio:.2f}x; target <= {STEP_TARGET}x: {verdict}")
    print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> int:
    return run_on_own_mesh(report)


if __name__ == "__main__":
    sys.exit(main())
