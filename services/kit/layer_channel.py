"""A long-lived channel to a layer that follows the layer when it moves.

gRPC resolves a target once per channel (an ``ipv4:`` list or a ``host:port`` on loopback is
never looked up again), and a layer opens its channels to the others at start. So the
channel here looks the layer up again through ``layer_target`` (the registry) at most every
``REFRESH_SECONDS``, on a call and in a thread so the call is not delayed. When the answer
changed (the layer moved, a process of it came or went), calls from then on go over a
channel to the new target, and the old channel is closed once the calls it carries have had
``RETIRE_GRACE_SECONDS`` to end. A channel that has lost its connections looks sooner
(``BROKEN_LOOKUP_SECONDS``): the call that found the layer gone fails UNAVAILABLE, and the
calls after the lookup reach it where it is now. A layer given an explicit
``AGENTIC_<L>_TARGET`` is always answered with it: its channel never changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import grpc
import structlog

from services.kit.clients import layer_target, open_channel

REFRESH_SECONDS = 5.0
RETIRE_GRACE_SECONDS = 30.0
# A channel that reaches none of its addresses (TRANSIENT_FAILURE), or that dropped its
# connection when the server went away (IDLE), looks the layer up at once, at most this often.
BROKEN_LOOKUP_SECONDS = 0.5
_BROKEN = (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.IDLE)

log = structlog.get_logger("kit.layer_channel")


class _Method:
    """A stub's method: each call goes over the layer's current channel."""

    def __init__(self, owner: LayerChannel, kind: str, method: str, options: dict[str, Any]):
        self._owner = owner
        self._kind = kind
        self._method = method
        self._options = options
        self._bound: grpc.aio.Channel | None = None
        self._callable: Any = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        channel = self._owner.current()
        if channel is not self._bound:  # the first call, or the layer moved
            self._callable = getattr(channel, self._kind)(self._method, **self._options)
            self._bound = channel
        return self._callable(*args, **kwargs)


class LayerChannel(grpc.aio.Channel):
    """A ``grpc.aio.Channel`` to one layer (``l01``), opened by ``open_layer_channel``."""

    def __init__(
        self,
        layer: str,
        open_target: Callable[[str], grpc.aio.Channel],
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.layer = layer
        self._open = open_target
        self._refresh_seconds = refresh_seconds
        self.target = layer_target(layer)
        self._channel = open_target(self.target)
        self._looked_up = time.monotonic()
        self._lookup: asyncio.Task[None] | None = None
        self._retired: list[grpc.aio.Channel] = []  # moved from, closing
        self._retiring: set[asyncio.Task[None]] = set()

    def current(self) -> grpc.aio.Channel:
        """The channel calls go over now; starts a lookup when the last one is old, or
        sooner when the channel reaches none of its addresses (the layer went away)."""
        now = time.monotonic()
        since = now - self._looked_up
        if self._lookup is None and (
            since >= self._refresh_seconds
            or (since >= BROKEN_LOOKUP_SECONDS and self._channel.get_state() in _BROKEN)
        ):
            self._looked_up = now
            self._lookup = asyncio.get_running_loop().create_task(self._look_up())
        return self._channel

    async def refresh(self) -> None:
        """Looks the layer up now (a caller that knows it moved need not wait)."""
        self._looked_up = time.monotonic()
        await self._look_up()

    async def _look_up(self) -> None:
        try:
            target = await asyncio.to_thread(layer_target, self.layer)
        except Exception as error:  # a bad setting or registry: keep the channel it has
            log.warning("layer_channel.lookup_failed", layer=self.layer, reason=str(error))
            return
        finally:
            self._lookup = None
        if _addresses(target) == _addresses(self.target):  # the same, perhaps reordered
            return
        log.info("layer_channel.moved", layer=self.layer, old=self.target, new=target)
        old, self._channel, self.target = self._channel, self._open(target), target
        self._retired.append(old)
        retire = asyncio.get_running_loop().create_task(self._retire(old))
        self._retiring.add(retire)
        retire.add_done_callback(self._retiring.discard)

    async def _retire(self, old: grpc.aio.Channel) -> None:
        await old.close(grace=RETIRE_GRACE_SECONDS)
        self._retired.remove(old)

    # -- grpc.aio.Channel ------------------------------------------------------------------

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Method(self, "unary_unary", method, _options(args, kwargs))

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Method(self, "unary_stream", method, _options(args, kwargs))

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Method(self, "stream_unary", method, _options(args, kwargs))

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _Method(self, "stream_stream", method, _options(args, kwargs))

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()

    async def close(self, grace: float | None = None) -> None:
        if self._lookup is not None:
            self._lookup.cancel()
        for retiring in list(self._retiring):
            retiring.cancel()
        for channel in [*self._retired, self._channel]:
            await channel.close(grace)
        self._retired.clear()

    async def __aenter__(self) -> LayerChannel:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def _addresses(target: str) -> frozenset[str]:
    """The addresses a target names: ``ipv4:a,b`` and ``ipv4:b,a`` are one target to a
    round-robin channel, and moving to a new channel for the order alone would cut its
    streams."""
    return frozenset(target.removeprefix("ipv4:").split(","))


_POSITIONAL = ("request_serializer", "response_deserializer", "_registered_method")


def _options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A multicallable's options as keywords, however the stub passed them."""
    return {**dict(zip(_POSITIONAL, args, strict=False)), **kwargs}


def open_layer_channel(layer: str, **options: Any) -> LayerChannel:
    """A channel to a layer (``"l01"``) that follows it through the registry; ``options`` as
    for ``open_channel`` (token, timeout, principal, ...)."""
    return LayerChannel(layer, lambda target: open_channel(target, **options))
