"""L02 figures: the agent loop's overhead beside a bare Temporal workflow of the same shape,
and 1,000 agents (spawn rate and the CPU each process spends per spawn, list latency through
Envoy, the runtime's memory).

The model is an instant ModelService (L04's contract) in this process, and the tool is
`list_files` on an empty workspace, so what is measured is the runtime's own work: Temporal,
the step records in L01 and the calls between layers. The bare workflow runs four no-op
activities in sequence on the same Temporal server, like the agent's two decisions, one tool
call and its finish.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from agentic.runtime.v1 import agents_pb2 as pb
from agentic.runtime.v1 import agents_pb2_grpc
from bench.bare_workflow import BareWorkflow, noop
from bench.own_mesh import run_on_own_mesh
from bench.process_cpu import component_cpu, cpu_per_item
from bench.stats import percentile
from services.kit import open_channel
from services.launcher import probes
from services.launcher.config import LauncherSettings
from services.launcher.mesh import Mesh
from services.launcher.ports import free_port

TOKEN = "dev_key_local_ONLY"
ROOT = Path(__file__).resolve().parents[1]
OVERHEAD_TARGET = 1.3
RUNS = 40
AGENTS = 1000
SPAWN_TARGET_PER_S = 200
LIST_P99_TARGET_MS = 50
RSS_TARGET_MB = 200


class InstantModel(models_grpc.ModelServiceServicer):
    """Asks for one `list_files` call, then finishes: no time spent thinking."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    async def Generate(self, request, context):  # type: ignore[no-untyped-def]
        count = self.calls.get(request.agent_id, 0)
        self.calls[request.agent_id] = count + 1
        decision = (
            {"action": "call_tool", "tool": "list_files", "arguments": {}}
            if count == 0
            else {"action": "finish", "answer": "done"}
        )
        reply = models_pb.GenerateResponse(content=json.dumps(decision), provider="instant")
        reply.structured.struct_value.update(decision)
        return reply


async def _bare(client: Client) -> list[float]:
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    samples = []
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop]):
        for _ in range(RUNS + 5):
            started = time.perf_counter()
            await client.execute_workflow(BareWorkflow.run, id=uuid.uuid4().hex, task_queue=queue)
            samples.append((time.perf_counter() - started) * 1000)
    return samples[5:]


def _start_runtime(
    settings: LauncherSettings, model_port: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "L02_HOST": "127.0.0.1",
        "L02_PORT": str(port),
        "L02_TASK_QUEUE": f"bench-{uuid.uuid4().hex[:6]}",
        "L02_LOG_LEVEL": "warning",
        "TEMPORAL_ADDRESS": settings.effective_temporal_address,
        "AGENTIC_L01_TARGET": f"127.0.0.1:{settings.layer_port('l01')}",
        "AGENTIC_L03_TARGET": f"127.0.0.1:{settings.layer_port('l03')}",
        "AGENTIC_L04_TARGET": f"127.0.0.1:{model_port}",
        "AGENTIC_SERVICE_TOKEN": (settings.home / "service_token").read_text().strip(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.l02_runtime"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):
        if probes.grpc_serving(port) is None:
            return process, port
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the benchmark's runtime did not start")


async def _agent_runs(target: str, client: Client) -> list[float]:
    samples = []
    async with open_channel(target, token=TOKEN, timeout=60) as channel:
        runtime = agents_pb2_grpc.AgentServiceStub(channel)
        for _ in range(RUNS + 5):
            agent = pb.Agent(display_name="bench", allowed_tools=["list_files"])
            created = await runtime.CreateAgent(pb.CreateAgentRequest(agent=agent))
            started = time.perf_counter()
            run = await runtime.RunAgent(pb.RunAgentRequest(name=created.agent.name, task="list"))
            agent_id, run_id = run.run.name.split("/")[1], run.run.name.split("/")[3]
            await client.get_workflow_handle(f"agent-{agent_id}-run-{run_id}").result()
            samples.append((time.perf_counter() - started) * 1000)
    return samples[5:]


async def step_overhead(settings: LauncherSettings) -> None:
    model = InstantModel()
    server = grpc.aio.server()
    models_grpc.add_ModelServiceServicer_to_server(model, server)
    model_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    process, port = _start_runtime(settings, model_port)
    try:
        client = await Client.connect(settings.effective_temporal_address)
        bare = await _bare(client)
        agent = await _agent_runs(f"127.0.0.1:{port}", client)
    finally:
        process.terminate()
        process.wait(timeout=15)
        await server.stop(0)
    bare_p50, agent_p50 = statistics.median(bare), statistics.median(agent)
    ratio = agent_p50 / bare_p50
    print(
        f"\nAgent run of 4 activities (2 decisions, 1 tool call, finish), {RUNS} runs, 1 at a time"
    )
    print(
        f"  bare temporalio workflow   p50 {bare_p50:7.1f} ms  p99 {percentile(bare, 0.99):7.1f} ms"
    )
    print(
        f"  agent run (L02+L03+L01)    p50 {agent_p50:7.1f} ms"
        f"  p99 {percentile(agent, 0.99):7.1f} ms"
    )
    verdict = "met" if ratio <= OVERHEAD_TARGET else "MISSED"
    print(
        f"  ratio {ratio:.2f}x, per step +{(agent_p50 - bare_p50) / 4:.1f} ms;"
        f" target <= {OVERHEAD_TARGET}x: {verdict}"
    )


def _runtime_rss_mb(settings: LauncherSettings) -> float:
    for component in Mesh(settings).status():
        if component.name == "l02_runtime" and component.pid:
            for field in Path(f"/proc/{component.pid}/status").read_text().splitlines():
                if field.startswith("VmRSS:"):
                    return int(field.split()[1]) / 1024
    return float("nan")


async def many_agents(settings: LauncherSettings) -> None:
    gateway = f"127.0.0.1:{settings.gateway_port}"
    async with open_channel(gateway, token=TOKEN, timeout=30) as channel:
        runtime = agents_pb2_grpc.AgentServiceStub(channel)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(AGENTS):
            queue.put_nowait(index)

        async def spawner() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                agent = pb.Agent(
                    display_name=f"agent {index}", role=("debugger", "architect")[index % 2]
                )
                await runtime.CreateAgent(pb.CreateAgentRequest(agent=agent))

        cpu_before = component_cpu(settings)
        started = time.perf_counter()
        await asyncio.gather(*(spawner() for _ in range(16)))
        spawn_rate = AGENTS / (time.perf_counter() - started)
        spawn_cpu = cpu_per_item(cpu_before, component_cpu(settings), AGENTS)
    samples = []
    async with httpx.AsyncClient(
        base_url=f"http://{gateway}", headers={"authorization": f"Bearer {TOKEN}"}
    ) as rest:
        for _ in range(220):
            t0 = time.perf_counter()
            response = await rest.get("/v1/agents", params={"page_size": 50})
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
    samples = samples[20:]
    rss = _runtime_rss_mb(settings)
    print(f"\n{AGENTS} agents through Envoy, 16 concurrent callers")
    verdict = "met" if spawn_rate >= SPAWN_TARGET_PER_S else "MISSED"
    print(
        f"  spawn rate {spawn_rate:7.0f}/s; target >= {SPAWN_TARGET_PER_S}/s: {verdict}"
        f" (load average {os.getloadavg()[0]:.1f})"
    )
    costs = ", ".join(f"{name} {ms:.2f}" for name, ms in spawn_cpu.items() if ms >= 0.05)
    print(f"  CPU ms per spawn: {costs} (total {sum(spawn_cpu.values()):.2f})")
    p99 = percentile(samples, 0.99)
    verdict = "met" if p99 <= LIST_P99_TARGET_MS else "MISSED"
    print(
        f"  GET /v1/agents (50 a page) p50 {statistics.median(samples):.2f} ms p99 {p99:.2f} ms;"
        f" target p99 <= {LIST_P99_TARGET_MS} ms: {verdict}"
    )
    verdict = "met" if rss <= RSS_TARGET_MB else "MISSED"
    print(f"  runtime RSS {rss:.0f} MB; target <= {RSS_TARGET_MB} MB: {verdict}")


async def report(settings: LauncherSettings) -> None:
    await step_overhead(settings)
    await many_agents(settings)


def main() -> int:
    return run_on_own_mesh(report)


if __name__ == "__main__":
    sys.exit(main())
