"""Callers of L00 through the gateway, each an API key with its own principal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from agentic.common.v1.event_pb2 import Event
from agentic.data.v1 import event_store_pb2 as ev_pb
from agentic.data.v1 import event_store_pb2_grpc as ev_grpc
from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from services.kit import open_channel
from services.kit.auth import ApiKeyFile
from tests.conftest import RunningMesh


def secret_name(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def accepted_key(mesh: RunningMesh, principal: str, *roles: str) -> str:
    """A new key for ``principal``, once the gateway has re-read the key file (within a
    second) and let it list secrets."""
    key, _ = ApiKeyFile(mesh.settings.gateway_keys_file).create(principal, roles, "internal")
    async with open_channel(mesh.gateway_target, token=key) as channel:
        stub = pb_grpc.SecretServiceStub(channel)
        for _ in range(40):
            try:
                await stub.ListSecrets(pb.ListSecretsRequest(page_size=1))
                return key
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error
                await asyncio.sleep(0.1)
    raise AssertionError(f"the key for {principal} was never accepted")


@asynccontextmanager
async def secrets_as(mesh: RunningMesh, key: str) -> AsyncIterator[pb_grpc.SecretServiceStub]:
    async with open_channel(mesh.gateway_target, token=key) as channel:
        yield pb_grpc.SecretServiceStub(channel)


async def audit_events(l01_channel: grpc.aio.Channel, name: str) -> list[Event]:
    store = ev_grpc.EventStoreServiceStub(l01_channel)
    try:
        page = await store.ReadStream(ev_pb.ReadStreamRequest(stream_id=f"secret:{name}"))
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return []
        raise
    return list(page.events)
