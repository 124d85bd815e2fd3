"""gRPC calls whose messages are JSON (``application/grpc+json``), for the layers, which speak
protobuf only.

Envoy's Connect bridge turns a Connect call into a gRPC call of the same codec: binary Connect
reaches the layers as it is, JSON Connect arrives here (after Envoy's auth, per method route).
Each message is parsed with the mesh's descriptors, the call made to the method's layer with
the caller's forwarded headers and deadline, and each answer printed back as JSON (proto3's
canonical JSON mapping, as Connect's JSON codec expects). A layer's error passes through with
its status details; a message that is not JSON for the method is INVALID_ARGUMENT E9400.

Every cardinality is one stream each way: on the wire a unary call is a stream of one.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.kit import get_logger, open_channel
from services.l09_gateway.descriptor import Method
from services.l09_gateway.names import PRINCIPAL_HEADER
from services.l09_gateway.render.layers import layer_for
from services.l09_gateway.status_details import DETAILS_HEADER, DOMAIN, MALFORMED, UNAVAILABLE

log = get_logger("l09.json")

# What the layers need of the caller's headers: the credential Envoy set (the service token)
# and the identity it vouches for (x-agentic-*), and the request id for the logs.
_IDENTITY_PREFIX = PRINCIPAL_HEADER.rsplit("-", 1)[0] + "-"  # "x-agentic-"
_FORWARDED = ("authorization", "x-request-id")


def forwarded(metadata: Iterable[tuple[str, str | bytes]]) -> list[tuple[str, str | bytes]]:
    return [(k, v) for k, v in metadata if k in _FORWARDED or k.startswith(_IDENTITY_PREFIX)]


def gateway_status(code: int, reason: str, message: str) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN)
    status = status_pb2.Status(code=code, message=f"{reason}: {message}")
    status.details.add().Pack(info)
    return rpc_status.to_status(status)


class MalformedJson(ValueError):
    """A request message is not JSON for the method's request type."""


@dataclass(frozen=True)
class JsonMethod:
    """One RPC's message classes, to read and print its messages as JSON."""

    path: str
    package: str
    request: type[Message]
    response: type[Message]

    def parse(self, text: bytes) -> bytes:
        message = self.request()
        try:
            json_format.Parse(text, message)
        except (json_format.ParseError, UnicodeDecodeError) as error:
            name = message.DESCRIPTOR.full_name
            raise MalformedJson(f"not a JSON {name} for {self.path}: {error}") from error
        return message.SerializeToString()

    def print(self, data: bytes) -> bytes:
        message = self.response.FromString(data)
        return json_format.MessageToJson(message, indent=None).encode()


def json_methods(
    methods: Iterable[Method], pool: descriptor_pool.DescriptorPool
) -> dict[str, JsonMethod]:
    def message_class(name: str) -> type[Message]:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))

    return {
        m.path: JsonMethod(
            m.path, m.package, message_class(m.input_type), message_class(m.output_type)
        )
        for m in methods
    }


class JsonCodec(grpc.GenericRpcHandler):
    """Serves every method of ``methods`` with JSON messages, calling the layers at
    ``targets`` (component name -> host:port)."""

    def __init__(self, methods: Mapping[str, JsonMethod], targets: Mapping[str, str]) -> None:
        self._targets = targets
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._handlers = {
            path: grpc.stream_stream_rpc_method_handler(functools.partial(self._relay, method))
            for path, method in methods.items()
        }

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        return self._handlers.get(handler_call_details.method)

    def _channel(self, method: JsonMethod) -> grpc.aio.Channel | None:
        layer = layer_for(method.package)
        target = self._targets.get(layer.name)
        if target is None:
            return None
        if layer.name not in self._channels:
            self._channels[layer.name] = open_channel(target, timeout=None)
        return self._channels[layer.name]

    async def _relay(
        self,
        method: JsonMethod,
        requests: AsyncIterator[bytes],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[bytes]:
        channel = self._channel(method)
        if channel is None:
            reason = f"layer {layer_for(method.package).name} unavailable: not in this mesh"
            await context.abort_with_status(
                gateway_status(code_pb2.UNAVAILABLE, UNAVAILABLE, reason)
            )
            return
        call = channel.stream_stream(method.path)(
            metadata=forwarded(context.invocation_metadata() or ()),
            timeout=context.time_remaining(),
        )
        malformed: list[MalformedJson] = []

        async def send() -> None:
            try:
                async for text in requests:
                    try:
                        data = method.parse(text)
                    except MalformedJson as error:
                        malformed.append(error)
                        call.cancel()
                        return
                    await call.write(data)
                await call.done_writing()
            except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                return  # the call has ended: the reader reports how

        sender = asyncio.create_task(send())
        try:
            while (answer := await call.read()) is not grpc.aio.EOF:
                yield method.print(answer)
        except grpc.aio.AioRpcError as error:
            details = [(k, v) for k, v in error.trailing_metadata() or () if k == DETAILS_HEADER]
            await context.abort(error.code(), error.details() or "", tuple(details))
        except asyncio.CancelledError:
            if not malformed:  # the caller went away, not a message of theirs
                raise
            await context.abort_with_status(
                gateway_status(code_pb2.INVALID_ARGUMENT, MALFORMED, str(malformed[0]))
            )
        finally:
            sender.cancel()
