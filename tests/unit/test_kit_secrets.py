"""The kit's SecretReader: its cache and its one call for concurrent misses, against a stub
standing in for L00's generated client (the integration tests use the real L00)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from agentic.secrets.v1 import secrets_pb2 as pb
from services.kit.secrets import LAYER_HEADER, SecretReader

pytestmark = [pytest.mark.unit, pytest.mark.kit]


class SlowL00:
    """Answers AccessSecretVersion after a pause, counting calls and what they carried."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
        self.fail = False

    async def AccessSecretVersion(
        self, request: pb.AccessSecretVersionRequest, metadata: tuple[tuple[str, str], ...]
    ) -> pb.AccessSecretVersionResponse:
        self.calls.append((request.name, request.version, metadata))
        await asyncio.sleep(0.05)
        if self.fail:
            raise RuntimeError("L00 said no")
        return pb.AccessSecretVersionResponse(name=request.name, version=1, value="v")


@pytest.fixture
async def reader() -> tuple[SecretReader, SlowL00, list[float]]:
    now = [0.0]
    channel = grpc.aio.insecure_channel("127.0.0.1:9")  # never dialled: the stub is replaced
    secret_reader = SecretReader(channel, "l04_models", ttl_seconds=10, clock=lambda: now[0])
    stub = SlowL00()
    secret_reader._stub = stub  # type: ignore[assignment]
    yield secret_reader, stub, now
    await secret_reader.close()


async def test_concurrent_misses_make_one_call_and_the_cache_answers_until_the_ttl(
    reader: tuple[SecretReader, SlowL00, list[float]],
) -> None:
    secret_reader, stub, now = reader
    values = await asyncio.gather(*(secret_reader.read_text("k") for _ in range(5)))
    assert values == ["v"] * 5 and len(stub.calls) == 1
    assert stub.calls[0] == ("k", "latest", ((LAYER_HEADER, "l04_models"),))
    now[0] = 9.9
    await secret_reader.read("k")
    assert len(stub.calls) == 1
    now[0] = 10.1
    await secret_reader.read("k")
    assert len(stub.calls) == 2
    secret_reader.forget("k")
    await secret_reader.read("k")
    assert len(stub.calls) == 3


async def test_a_cancelled_caller_does_not_cancel_the_others_and_errors_reach_all(
    reader: tuple[SecretReader, SlowL00, list[float]],
) -> None:
    secret_reader, stub, _ = reader
    first = asyncio.create_task(secret_reader.read("k"))
    second = asyncio.create_task(secret_reader.read("k"))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == b"v" and len(stub.calls) == 1
    stub.fail = True
    results = await asyncio.gather(
        secret_reader.read("other"), secret_reader.read("other"), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results) and len(stub.calls) == 2
    stub.fail = False
    assert await secret_reader.read("other") == b"v"  # a failure is not cached
