"""A second planning process whose model is scripted, beside the session mesh.

Plans and agent answers must come on cue (a cycle, a repaired plan, a task that fails twice),
which the offline model cannot be relied on to do: the scripted model is a gRPC server
speaking L04's own contract (tests/l02's). Under test are the real L05 process (`python -m
services.l05_planning`) and a real L02 process, both pointed at the scripted model, with the
session mesh's L01, L03, L08, L13, L14 and Temporal, each on its own port and task queue (L05
starts its tasks on the L02 process's queue). Embeddings (the plan library's) come from the session
mesh's real L04 through the scripted model.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentic.planning.v1 import goals_pb2_grpc
from services.kit import open_channel
from services.launcher import probes
from services.launcher.ports import free_port
from tests.conftest import RunningMesh
from tests.l02.conftest import (  # noqa: F401  (session fixtures shared with L02's tests)
    RuntimeProcess,
    ScriptedModel,
    scripted_model,
    scripted_runtime,
)
from tests.support import DEV_TOKEN

ROOT = Path(__file__).resolve().parents[2]


class PlanningProcess:
    """The L05 process under test."""

    def __init__(
        self, mesh: RunningMesh, model_port: int, runtime: RuntimeProcess, log: Path
    ) -> None:
        self.port = free_port()
        self.log = log
        home = mesh.settings.home
        self.env = {
            **os.environ,
            "L05_HOST": "127.0.0.1",
            "L05_PORT": str(self.port),
            "L05_TASK_QUEUE": f"scripted-goals-{uuid.uuid4().hex[:8]}",
            "TEMPORAL_ADDRESS": mesh.settings.effective_temporal_address,
            "AGENTIC_L01_TARGET": mesh.mesh.layer_target("l01_data"),
            "AGENTIC_L02_TARGET": runtime.target,
            "L05_AGENT_TASK_QUEUE": runtime.env["L02_TASK_QUEUE"],
            "AGENTIC_L03_TARGET": mesh.mesh.layer_target("l03_tools"),
            "AGENTIC_L04_TARGET": f"127.0.0.1:{model_port}",
            "AGENTIC_L08_TARGET": mesh.mesh.layer_target("l08_supervision"),
            "AGENTIC_L13_TARGET": mesh.mesh.layer_target("l13_roles"),
            "AGENTIC_L14_TARGET": mesh.mesh.layer_target("l14_skills"),
            "AGENTIC_SERVICE_TOKEN": (home / "service_token").read_text().strip(),
            "PYTHONPATH": f"{ROOT / 'gen'}:{ROOT}",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.l05_planning"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for _ in range(300):
            if probes.grpc_serving(self.port) is None:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"L05 did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture
async def goals(scripted_planning: PlanningProcess) -> AsyncIterator[Any]:
    """GoalService of the planning process under test, as the dev principal."""
    async with open_channel(scripted_planning.target, token=DEV_TOKEN) as channel:
        yield goals_pb2_grpc.GoalServiceStub(channel)


@pytest.fixture(scope="session")
def scripted_planning(
    mesh: RunningMesh,
    scripted_model: tuple[ScriptedModel, int],  # noqa: F811
    scripted_runtime: RuntimeProcess,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PlanningProcess]:
    scripted_model[0].embed_target = mesh.mesh.layer_target("l04_models")
    planning = PlanningProcess(
        mesh,
        scripted_model[1],
        scripted_runtime,
        tmp_path_factory.mktemp("l05") / "l05.log",
    )
    planning.start()
    yield planning
    planning.stop()
