"""A second runtime process whose model is scripted, beside the session mesh.

The scripted model is a gRPC server speaking L04's own contract (ModelService): the agent loop
must be tested with a model that asks for tools on cue, which the offline model cannot be
relied on to do. The runtime under test is the real L02 process (`python -m
services.l02_runtime`), with the session mesh's L01, L03 and Temporal, its own port and its
own task queue, so it can be killed and restarted without touching the mesh's runtime.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from google.rpc import status_pb2
from grpc_status import rpc_status

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from services.kit import PlatformError, open_channel, to_rpc_status
from services.l04_models import errors as l04_errors
from services.launcher import probes
from services.launcher.ports import free_port
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ScriptedModel(models_grpc.ModelServiceServicer):
    """Answers each agent's step n with entry n of its script (a retried call of a step gets
    the same answer); ``gates[agent][n]``, when set, holds step n's answer until it is set.

    Embeddings are not scripted: with ``embed_target`` set, Embed is passed on to that real
    L04 (the session mesh's, its default embedding model); without it, Embed is UNIMPLEMENTED.
    """

    scripts: dict[str, list[models_pb.GenerateResponse | Refused]] = field(default_factory=dict)
    gates: dict[str, dict[int, asyncio.Event]] = field(default_factory=dict)
    requests: dict[str, list[models_pb.GenerateRequest]] = field(default_factory=dict)
    embed_target: str = ""
    embedded: list[str] = field(default_factory=list)  # every text passed on, in order
    _embedder: grpc.aio.Channel | None = None

    async def Embed(self, request, context):  # type: ignore[no-untyped-def]
        if not self.embed_target:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "the scripted model does not embed")
        if self._embedder is None:
            self._embedder = open_channel(self.embed_target, token=DEV_TOKEN)
        self.embedded.extend(request.texts)
        return await models_grpc.ModelServiceStub(self._embedder).Embed(request)

    async def Generate(self, request, context):  # type: ignore[no-untyped-def]
        agent = request.agent_id
        self.requests.setdefault(agent, []).append(request)
        # Each step adds one assistant message to the conversation: this is step n.
        step = 1 + sum(1 for message in request.messages if message.role == "assistant")
        gate = self.gates.get(agent, {}).get(step)
        if gate is not None:
            await gate.wait()
        script = self.scripts.get(agent) or [_finish("no script")]
        entry = script[min(step, len(script)) - 1]
        if isinstance(entry, Refused):
            await context.abort_with_status(rpc_status.to_status(entry.status()))
        return entry


@dataclass(frozen=True)
class Refused:
    """An answer L04 refuses after its repair (E4010), as L04 says it: with the tokens that
    the two calls spent in its ErrorInfo."""

    input_tokens: int
    output_tokens: int

    def status(self) -> status_pb2.Status:
        error = PlatformError(
            l04_errors.OUTPUT_INVALID, "scripted/model's answer failed the response schema",
            metadata={"input_tokens": str(self.input_tokens),
                      "output_tokens": str(self.output_tokens), "cost_usd": "0.000000"},
        )  # fmt: skip
        return to_rpc_status(error, l04_errors.DOMAIN)


def decision(structured: dict, tokens: int = 20) -> models_pb.GenerateResponse:
    reply = models_pb.GenerateResponse(model="scripted/model", provider="scripted")
    reply.structured.struct_value.update(structured)
    reply.content = json.dumps(structured)
    reply.usage.input_tokens = tokens // 2
    reply.usage.output_tokens = tokens - tokens // 2
    return reply


def _finish(answer: str) -> models_pb.GenerateResponse:
    return decision({"action": "finish", "answer": answer})


def call_tool(tool: str, **arguments: object) -> models_pb.GenerateResponse:
    return decision({"action": "call_tool", "tool": tool, "arguments": arguments})


def finish(answer: str) -> models_pb.GenerateResponse:
    return _finish(answer)


@pytest.fixture(scope="session")
async def scripted_model() -> AsyncIterator[tuple[ScriptedModel, int]]:
    model = ScriptedModel()
    server = grpc.aio.server()
    models_grpc.add_ModelServiceServicer_to_server(model, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield model, port
    await server.stop(0)


class RuntimeProcess:
    """The L02 process under test: start, kill -9, start again."""

    def __init__(self, mesh: RunningMesh, model_port: int, log: Path) -> None:
        self.port = free_port()
        self.log = log
        home = mesh.settings.home
        self.env = {
            **os.environ,
            "L02_HOST": "127.0.0.1",
            "L02_PORT": str(self.port),
            "L02_TASK_QUEUE": f"scripted-{uuid.uuid4().hex[:8]}",
            "TEMPORAL_ADDRESS": mesh.settings.effective_temporal_address,
            "AGENTIC_L01_TARGET": mesh.mesh.layer_target("l01_data"),
            "AGENTIC_L03_TARGET": mesh.mesh.layer_target("l03_tools"),
            "AGENTIC_L04_TARGET": f"127.0.0.1:{model_port}",
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
                [sys.executable, "-m", "services.l02_runtime"],
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
        raise AssertionError(f"L02 did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture(scope="session")
def scripted_runtime(
    mesh: RunningMesh,
    scripted_model: tuple[ScriptedModel, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RuntimeProcess]:
    runtime = RuntimeProcess(mesh, scripted_model[1], tmp_path_factory.mktemp("l02") / "l02.log")
    runtime.start()
    yield runtime
    runtime.stop()
