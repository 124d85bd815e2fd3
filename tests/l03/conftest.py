"""L03 fixtures: the tool service of the session mesh, directly and through Envoy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from agentic.data.v1 import event_store_pb2_grpc
from agentic.tools.v1 import tools_pb2_grpc
from services.kit import open_channel
from tests.conftest import RunningMesh
from tests.support import DEV_TOKEN

pytestmark = [pytest.mark.l03, pytest.mark.integration]

# Executions run for seconds when a limit is what stops them.
CALL_TIMEOUT = 60


@pytest.fixture(scope="session")
async def l03_channel(mesh: RunningMesh) -> AsyncIterator[grpc.aio.Channel]:
    channel = open_channel(
        mesh.mesh.layer_target("l03_tools"), token=DEV_TOKEN, timeout=CALL_TIMEOUT
    )
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def tools(gateway_channel: grpc.aio.Channel) -> tools_pb2_grpc.ToolServiceStub:
    """The tool service through Envoy."""
    return tools_pb2_grpc.ToolServiceStub(gateway_channel)


@pytest.fixture(scope="session")
def tools_direct(l03_channel: grpc.aio.Channel) -> tools_pb2_grpc.ToolServiceStub:
    return tools_pb2_grpc.ToolServiceStub(l03_channel)


@pytest.fixture(scope="session")
def store_via_gateway(
    gateway_channel: grpc.aio.Channel,
) -> event_store_pb2_grpc.EventStoreServiceStub:
    return event_store_pb2_grpc.EventStoreServiceStub(gateway_channel)
