"""L04 fixtures: stubs to the model gateway, direct and through Envoy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import redis.asyncio as redis

from agentic.models.v1 import models_pb2_grpc
from services.kit import open_channel
from services.l04_models.providers.ollama import OllamaProvider
from tests.conftest import RunningMesh
from tests.l04 import fakes
from tests.support import DEV_TOKEN

LOCAL_MODEL = "local/smollm2-135m"


@pytest.fixture(scope="session")
async def l04_channel(mesh: RunningMesh) -> AsyncIterator[grpc.aio.Channel]:
    # Local generation is slow on 2 shared cores: a generous deadline.
    channel = open_channel(mesh.l04_target, token=DEV_TOKEN, timeout=120)
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
async def models_via_envoy(mesh: RunningMesh) -> AsyncIterator[models_pb2_grpc.ModelServiceStub]:
    channel = open_channel(mesh.gateway_target, token=DEV_TOKEN, timeout=120)
    yield models_pb2_grpc.ModelServiceStub(channel)
    await channel.close()


@pytest.fixture(scope="session")
def models(l04_channel: grpc.aio.Channel) -> models_pb2_grpc.ModelServiceStub:
    return models_pb2_grpc.ModelServiceStub(l04_channel)


@pytest.fixture(scope="session")
async def redis_bytes(mesh: RunningMesh) -> AsyncIterator[redis.Redis]:
    """The mesh's Redis, as the gateway uses it (bytes replies)."""
    client = redis.Redis.from_url(mesh.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def llama():
    """An Ollama-API stub and a provider on it: ({"ollama": provider}, its script)."""
    script = fakes.Script()
    async with fakes.serve(fakes.ollama_app(script)) as url:
        provider = OllamaProvider(url, timeout=5)
        yield {"ollama": provider}, script
        await provider.close()
