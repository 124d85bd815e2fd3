"""The kit's SecretReader: a layer reads the secrets whose policy names it, through a cache."""

from __future__ import annotations

import grpc
import pytest

from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from services.kit import open_channel
from services.kit.auth import PRINCIPAL_HEADER
from services.kit.secrets import LAYER_HEADER, SecretReader
from tests.conftest import RunningMesh
from tests.l00.support import accepted_key, audit_events, secret_name, secrets_as

pytestmark = [pytest.mark.integration, pytest.mark.l00]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _service_token(mesh: RunningMesh) -> str:
    return (mesh.settings.home / "service_token").read_text().strip()


async def _secret_for(gateway_channel: grpc.aio.Channel, layers: list[str], value: str) -> str:
    stub = pb_grpc.SecretServiceStub(gateway_channel)
    name = secret_name("provider")
    await stub.CreateSecret(
        pb.CreateSecretRequest(name=name, access_policy=pb.AccessPolicy(layers=layers))
    )
    await stub.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value=value))
    return name


async def test_a_layer_reads_its_secret_once_per_ttl(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel, l01_channel: grpc.aio.Channel
) -> None:
    name = await _secret_for(gateway_channel, ["l04_models"], "sk-test-123")
    clock = Clock()
    channel = open_channel(mesh.mesh.layer_target("l00_secrets"), token=_service_token(mesh))
    reader = SecretReader(channel, "l04_models", ttl_seconds=30, clock=clock)
    try:
        assert await reader.read_text(name) == "sk-test-123"
        clock.now = 29.0
        assert await reader.read_text(name) == "sk-test-123"
        accessed = [e for e in await audit_events(l01_channel, name) if "accessed" in e.type]
        assert [(e.data["layer"], e.data["principal"]) for e in accessed] == [
            ("l04_models", "layer:l04_models")
        ]
        clock.now = 31.0
        await reader.read_text(name)
        accessed = [e for e in await audit_events(l01_channel, name) if "accessed" in e.type]
        assert len(accessed) == 2
    finally:
        await reader.close()


async def test_another_layer_and_a_forged_layer_header_are_refused(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel
) -> None:
    name = await _secret_for(gateway_channel, ["l04_models"], "sk-test-456")
    channel = open_channel(mesh.mesh.layer_target("l00_secrets"), token=_service_token(mesh))
    reader = SecretReader(channel, "l03_tools")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await reader.read(name)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await reader.close()
    # Through the gateway a caller is always named: a layer header it sends counts for nothing.
    request = pb.AccessSecretVersionRequest(name=name, version="latest")
    mallory = await accepted_key(mesh, "mallory", "secrets_user")
    async with secrets_as(mesh, mallory) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as forged:
            await stub.AccessSecretVersion(request, metadata=((LAYER_HEADER, "l04_models"),))
    assert forged.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Nor does it with the service token when a caller is named.
    async with open_channel(
        mesh.mesh.layer_target("l00_secrets"), token=_service_token(mesh)
    ) as direct:
        metadata = ((LAYER_HEADER, "l04_models"), (PRINCIPAL_HEADER, "mallory"))
        with pytest.raises(grpc.aio.AioRpcError) as named:
            await pb_grpc.SecretServiceStub(direct).AccessSecretVersion(request, metadata=metadata)
    assert named.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_no_reader_without_a_configured_l00(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AGENTIC_L00_TARGET", "AGENTIC_L00_PORT", "AGENTIC_HOME", "CONSUL_HTTP_ADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTIC_SERVICE_TOKEN", "x")
    assert SecretReader.from_environment("l04_models") is None
    # The launcher gives its layers L00's port (no target): that is a mesh with an L00.
    monkeypatch.setenv("AGENTIC_L00_PORT", "18000")
    reader = SecretReader.from_environment("l04_models")
    assert reader is not None
