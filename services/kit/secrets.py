"""How a layer reads secret values (provider API keys, say) from L00, with a short cache.

    reader = SecretReader.from_environment("l04_models")   # None when no L00 is configured
    key = await reader.read_text("ANTHROPIC_API_KEY")

The layer calls L00 with the mesh's service token and names itself in ``LAYER_HEADER``; L00
then checks the secret's policy for that layer. Values are kept in memory for ``ttl_seconds``
(a disabled or rotated value is seen within that time) and never logged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc

from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from services.kit.auth import service_token_from_env
from services.kit.clients import layer_located
from services.kit.layer_channel import open_layer_channel

# Names the calling layer on a service-token call; L00 ignores it on any other call.
LAYER_HEADER = "x-agentic-layer"
DEFAULT_TTL_SECONDS = 30.0


class SecretReader:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        layer: str,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stub = pb_grpc.SecretServiceStub(channel)
        self._channel = channel
        self._metadata = ((LAYER_HEADER, layer),)
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, bytes]] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[bytes]] = {}

    @classmethod
    def from_environment(
        cls, layer: str, ttl_seconds: float = DEFAULT_TTL_SECONDS
    ) -> SecretReader | None:
        """A reader of the mesh's L00, or None when this process was told of none (no
        target, launcher port or registered instance: ``layer_located``) or has no service
        token."""
        token = service_token_from_env()
        if not token or not layer_located("l00"):
            return None
        return cls(open_layer_channel("l00", token=token), layer, ttl_seconds)

    async def read(self, name: str, version: str = "latest") -> bytes:
        """The value; raises ``grpc.aio.AioRpcError`` as L00 answers (PERMISSION_DENIED...)."""
        key = (name, version)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        # One call to L00 for concurrent misses of one key, in a task of its own: a caller
        # that is cancelled does not cancel it for the others.
        fetch = self._pending.get(key)
        if fetch is None:
            fetch = asyncio.ensure_future(self._fetch(key))
            self._pending[key] = fetch
            fetch.add_done_callback(lambda done: self._fetched(key, done))
        return await asyncio.shield(fetch)

    def _fetched(self, key: tuple[str, str], done: asyncio.Future[bytes]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved, even when every caller went away

    async def _fetch(self, key: tuple[str, str]) -> bytes:
        name, version = key
        reply = await self._stub.AccessSecretVersion(
            pb.AccessSecretVersionRequest(name=name, version=version), metadata=self._metadata
        )
        if reply.WhichOneof("payload") == "binary_value":
            value = reply.binary_value
        else:
            value = reply.value.encode()
        self._cache[key] = (self._clock() + self._ttl, value)
        return value

    async def read_text(self, name: str, version: str = "latest") -> str:
        return (await self.read(name, version)).decode()

    def forget(self, name: str | None = None) -> None:
        """Drops cached values (of one secret, or all)."""
        for key in [k for k in self._cache if name is None or k[0] == name]:
            del self._cache[key]

    async def close(self) -> None:
        await self._channel.close()
