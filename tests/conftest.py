"""Session fixtures: one real mesh (PostgreSQL, Redis, L01, Envoy) on free ports.

The mesh is started by the project's own launcher, in a temporary home, so it
runs beside a developer's `make up` mesh without touching it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
import redis.asyncio as redis

from agentic.data.v1 import event_store_pb2_grpc
from services.kit import open_channel
from services.launcher.config import LauncherSettings
from services.launcher.mesh import Mesh
from tests.support import DEV_TOKEN, JWT_SECRET

# L01's retention sweep runs every second in test meshes (30 s by default), so a test
# can watch it delete what stream limits hide. The mesh's processes inherit this.
os.environ["L01_RETENTION_SWEEP_SECONDS"] = "1"
# Every ClassifyTask and SearchSkills costs one L04 Embed, counted against the caller: the suite
# makes more than L04's default 600 a minute as the one dev principal (the fuzzer alone can).
os.environ["L04_AGENT_REQUESTS_PER_MINUTE"] = "0"
# The session mesh's L04 keeps its (absent) Anthropic key in the environment: asking L00 for a
# secret it does not hold writes an audit event, and L01's tests read a log nobody else writes
# to. L04's reading of the key from L00 is tested on meshes of its own (tests/l04).
os.environ["L04_ANTHROPIC_KEY_SECRET"] = ""


@dataclass
class RunningMesh:
    """A started mesh, with the addresses tests need (all from the launcher's own)."""

    mesh: Mesh
    settings: LauncherSettings

    @property
    def l01_target(self) -> str:
        return self.mesh.layer_target("l01_data")

    @property
    def l04_target(self) -> str:
        return self.mesh.layer_target("l04_models")

    @property
    def gateway_target(self) -> str:
        return self.mesh.gateway_target

    @property
    def gateway_url(self) -> str:
        return self.mesh.gateway_url

    @property
    def redis_url(self) -> str:
        return self.mesh.redis_url

    @property
    def database_url(self) -> str:
        return self.mesh.database_url


# Seconds a whole mesh may take to start: 30-60 s on a quiet machine, minutes on a shared
# one whose cores are busy (every layer's imports, and L04's two processes' models).
MESH_START_SECONDS = 300


@contextmanager
def own_mesh(home: Path, **env: str) -> Iterator[RunningMesh]:
    """A whole mesh on free ports in ``home``, taken down on exit; its components start with
    ``env`` added to the environment (they inherit the one supervisord starts with)."""
    settings = LauncherSettings.on_free_ports(home)
    mesh = Mesh(settings, fsync=False)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            mesh.up(timeout=MESH_START_SECONDS)
        yield RunningMesh(mesh, settings)
    finally:
        mesh.down()


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    # An HS256 secret: the gateway verifies JWTs (tests/support.py: jwt_for) natively.
    with own_mesh(tmp_path_factory.mktemp("mesh"), L09_JWT_HS256_SECRET=JWT_SECRET) as running:
        yield running


@pytest.fixture(scope="session")
async def l01_channel(mesh: RunningMesh) -> AsyncIterator[grpc.aio.Channel]:
    channel = open_channel(mesh.l01_target, token=DEV_TOKEN)
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
async def gateway_channel(mesh: RunningMesh) -> AsyncIterator[grpc.aio.Channel]:
    channel = open_channel(mesh.gateway_target, token=DEV_TOKEN)
    yield channel
    await channel.close()


@pytest.fixture(params=["direct", "envoy"])
def store(
    request: pytest.FixtureRequest,
    l01_channel: grpc.aio.Channel,
    gateway_channel: grpc.aio.Channel,
) -> event_store_pb2_grpc.EventStoreServiceStub:
    """The EventStore stub, once straight to L01 and once through Envoy."""
    channel = l01_channel if request.param == "direct" else gateway_channel
    return event_store_pb2_grpc.EventStoreServiceStub(channel)


@pytest.fixture(scope="session")
async def rest(mesh: RunningMesh) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=mesh.gateway_url,
        headers={"authorization": f"Bearer {DEV_TOKEN}"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def redis_client(mesh: RunningMesh) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(mesh.redis_url, decode_responses=True)
    yield client
    await client.aclose()
