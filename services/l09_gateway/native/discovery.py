"""ECDS (envoy.service.extension.v3): serves the native auth filters' configurations.

State of the world per stream: Envoy subscribes to a filter by its name, gets its current
configuration, ACKs it, and gets every later version pushed. A rejected (NACKed) version is
logged and not sent again; Envoy keeps the last one it accepted.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Mapping

import grpc
from envoy.config.core.v3 import extension_pb2
from envoy.service.discovery.v3 import discovery_pb2
from envoy.service.extension.v3 import config_discovery_pb2_grpc as pb_grpc
from google.protobuf import any_pb2

from services.kit import get_logger

log = get_logger("l09.native.discovery")

TYPE_URL = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"

_CHANGED = object()  # a new version to push
_CLOSED = object()  # the stream's requests ended


class ExtensionConfigs:
    """The current filter configurations by name, versioned; streams are told of changes."""

    def __init__(self) -> None:
        # Versions name this process too: a restarted process starts counting again.
        self._epoch = uuid.uuid4().hex[:8]
        self._count = 0
        self._configs: dict[str, any_pb2.Any] = {}
        self._streams: set[asyncio.Queue[object]] = set()

    def update(self, configs: Mapping[str, any_pb2.Any]) -> bool:
        """Installs ``configs``; a new version (pushed to every stream) only if they differ."""
        if dict(configs) == self._configs:
            return False
        self._configs = dict(configs)
        self._count += 1
        for queue in self._streams:
            queue.put_nowait(_CHANGED)
        return True

    @property
    def version(self) -> str:
        return f"{self._epoch}.{self._count}"

    def response(self, names: tuple[str, ...], nonce: str) -> discovery_pb2.DiscoveryResponse:
        resources = []
        for name in names:
            if (config := self._configs.get(name)) is not None:
                resource = any_pb2.Any()
                resource.Pack(extension_pb2.TypedExtensionConfig(name=name, typed_config=config))
                resources.append(resource)
        return discovery_pb2.DiscoveryResponse(
            version_info=self.version, resources=resources, type_url=TYPE_URL, nonce=nonce
        )

    def subscribe(self) -> asyncio.Queue[object]:
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._streams.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[object]) -> None:
        self._streams.discard(queue)


class ExtensionConfigServicer(pb_grpc.ExtensionConfigDiscoveryServiceServicer):
    def __init__(self, configs: ExtensionConfigs) -> None:
        self._configs = configs
        self._nonces = itertools.count(1)

    async def StreamExtensionConfigs(
        self,
        request_iterator: AsyncIterator[discovery_pb2.DiscoveryRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[discovery_pb2.DiscoveryResponse]:
        events = self._configs.subscribe()

        async def read() -> None:
            try:
                async for request in request_iterator:
                    events.put_nowait(request)
            finally:
                events.put_nowait(_CLOSED)

        reader = asyncio.create_task(read())
        names: tuple[str, ...] = ()
        sent: str | None = None  # the version last sent on this stream
        try:
            while (event := await events.get()) is not _CLOSED:
                if isinstance(event, discovery_pb2.DiscoveryRequest):
                    if event.HasField("error_detail"):
                        log.error(
                            "discovery.rejected",
                            resources=list(event.resource_names) or list(names),
                            version=event.version_info,
                            error=event.error_detail.message,
                        )
                    if tuple(event.resource_names) == names and sent is not None:
                        continue  # an ACK or NACK of what was sent: nothing new to say
                    names = tuple(event.resource_names)
                elif sent is None or sent == self._configs.version:
                    continue  # nothing asked for yet, or already sent
                sent = self._configs.version
                yield self._configs.response(names, str(next(self._nonces)))
        finally:
            reader.cancel()
            self._configs.unsubscribe(events)
