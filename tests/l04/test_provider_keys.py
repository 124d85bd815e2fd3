"""L04 reads its Anthropic key from L00 when the mesh has one, else from the environment.

A real L04 process (only the `anthropic` provider enabled) runs beside the session mesh with
its L00, L01 and Redis; the Messages API is a stand-in speaking its HTTP protocol (no key or
network to reach Anthropic here) that records the key each request carries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import grpc
import pytest

from agentic.models.v1 import models_pb2 as models_pb
from agentic.models.v1 import models_pb2_grpc as models_grpc
from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from services.kit import open_channel
from services.launcher import probes
from services.launcher.ports import free_port
from tests.conftest import RunningMesh
from tests.l04 import fakes
from tests.support import DEV_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.l04, pytest.mark.l00]

ROOT = Path(__file__).resolve().parents[2]
ENV_KEY = "sk-from-the-environment"
SONNET = "anthropic/claude-sonnet-5-5"


@pytest.fixture
async def messages_api() -> AsyncIterator[tuple[fakes.Script, str]]:
    script = fakes.Script([fakes.Reply(body=fakes.anthropic_message("ok")) for _ in range(10)])
    async with fakes.serve(fakes.anthropic_app(script)) as url:
        yield script, url


@pytest.fixture
def secret_name() -> str:
    return f"ANTHROPIC_API_KEY_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def start_l04(
    mesh: RunningMesh,
    messages_api: tuple[fakes.Script, str],
    secret_name: str,
    tmp_path: Path,
) -> Iterator[Callable[[], str]]:
    """Starts an L04 whose key secret is ``secret_name``; returns its target."""
    log = tmp_path / "l04.log"
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> str:
        port = free_port()
        env = {
            **os.environ,
            "L04_HOST": "127.0.0.1",
            "L04_PORT": str(port),
            "L04_DISABLED_PROVIDERS": "local,claude_code,ollama",
            "L04_ANTHROPIC_KEY_SECRET": secret_name,
            "ANTHROPIC_API_KEY": ENV_KEY,
            "ANTHROPIC_BASE_URL": messages_api[1],
            "REDIS_URL": mesh.redis_url,
            "AGENTIC_L00_TARGET": mesh.mesh.layer_target("l00_secrets"),
            "AGENTIC_L01_TARGET": mesh.l01_target,
            "AGENTIC_SERVICE_TOKEN": (mesh.settings.home / "service_token").read_text().strip(),
            "PYTHONPATH": f"{ROOT / 'gen'}:{ROOT}",
        }
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.l04_models"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        for _ in range(1200):
            if probes.grpc_serving(port) is None:
                return f"127.0.0.1:{port}"
            assert process.poll() is None, log.read_text()[-2000:]
            time.sleep(0.1)
        raise AssertionError(f"L04 did not start: {log.read_text()[-2000:]}")

    try:
        yield start
        logged = log.read_text()
        assert not [k for k in (ENV_KEY, "sk-l00", "sk-other") if k in logged]  # never a key
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)


async def _secret(
    gateway_channel: grpc.aio.Channel, name: str, layers: list[str], value: str
) -> None:
    secrets = pb_grpc.SecretServiceStub(gateway_channel)
    await secrets.CreateSecret(
        pb.CreateSecretRequest(name=name, access_policy=pb.AccessPolicy(layers=layers))
    )
    await secrets.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value=value))


async def _generate(target: str, prompt: str) -> models_pb.GenerateResponse:
    async with open_channel(target, token=DEV_TOKEN) as channel:
        request = models_pb.GenerateRequest(model=SONNET, max_tokens=16)
        request.messages.add(role="user", content=prompt)  # a new prompt: no cached answer
        reply: models_pb.GenerateResponse = await models_grpc.ModelServiceStub(channel).Generate(
            request, timeout=30
        )
        return reply


def _key_sent(request: dict[str, object]) -> str:
    headers = request["headers"]
    assert isinstance(headers, dict)
    return str(headers.get("x-api-key") or headers.get("authorization", "")[7:])


async def test_the_key_comes_from_l00_when_it_holds_one_for_l04(
    gateway_channel: grpc.aio.Channel,
    start_l04: Callable[[], str],
    messages_api: tuple[fakes.Script, str],
    secret_name: str,
) -> None:
    await _secret(gateway_channel, secret_name, ["l04_models"], "sk-l00-1")
    reply = await _generate(start_l04(), f"first {uuid.uuid4().hex}")
    assert reply.provider == "anthropic"
    assert _key_sent(messages_api[0].requests[-1]) == "sk-l00-1"


async def test_a_secret_l04_may_not_read_leaves_the_environment_key(
    gateway_channel: grpc.aio.Channel,
    start_l04: Callable[[], str],
    messages_api: tuple[fakes.Script, str],
    secret_name: str,
) -> None:
    await _secret(gateway_channel, secret_name, ["l13_roles"], "sk-other")
    await _generate(start_l04(), f"second {uuid.uuid4().hex}")
    assert _key_sent(messages_api[0].requests[-1]) == ENV_KEY
