"""L04's ModelService as the compatible APIs call it: the caller's identity forwarded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import cast

import grpc

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc as pb_grpc
from services.kit import open_channel
from services.kit.layers import layer_by_key
from services.l09_gateway.compat.failures import from_rpc_error
from services.l09_gateway.names import IDENTITY_HEADERS

_L04 = layer_by_key("l04")
# What ext_authz put on the request (the service token, the caller): L04 trusts the caller
# headers only beside the service token, exactly as on a call Envoy routes to it itself.
FORWARDED_HEADERS = ("authorization", *IDENTITY_HEADERS)

Metadata = tuple[tuple[str, str], ...]


def forwarded(headers: Mapping[str, str]) -> Metadata:
    return tuple((name, headers[name]) for name in FORWARDED_HEADERS if name in headers)


class ModelsClient:
    """One channel to L04 for the process; every call raises CompatError on a refusal."""

    def __init__(self, target: str) -> None:
        # Each call sets its deadline (and carries its caller's token): a channel without
        # interceptors, whose per-call cost is on this path's every request.
        self._channel = open_channel(target, timeout=None)
        self._stub = pb_grpc.ModelServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def generate(
        self, request: pb.GenerateRequest, metadata: Metadata
    ) -> pb.GenerateResponse:
        try:
            return await self._stub.Generate(
                request, metadata=metadata, timeout=_L04.timeout_seconds
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None

    async def stream(
        self, request: pb.GenerateRequest, metadata: Metadata
    ) -> AsyncIterator[pb.StreamGenerateResponse]:
        """L04's stream; its first message is read before this returns, so that a refusal
        (bad input, no capable model, limits) is raised here, before any response is sent."""
        call = self._stub.StreamGenerate(
            pb.StreamGenerateRequest(request=request),
            metadata=metadata,
            timeout=_L04.timeout_seconds,
        )
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return _rest_of(call, first)

    async def embed(self, request: pb.EmbedRequest, metadata: Metadata) -> pb.EmbedResponse:
        try:
            return await self._stub.Embed(request, metadata=metadata, timeout=_L04.timeout_seconds)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None

    async def list_models(self, metadata: Metadata) -> pb.ListModelsResponse:
        try:
            return await self._stub.ListModels(
                pb.ListModelsRequest(), metadata=metadata, timeout=_L04.timeout_seconds
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None


async def _rest_of(
    call: grpc.aio.UnaryStreamCall, first: object
) -> AsyncIterator[pb.StreamGenerateResponse]:
    item = first
    try:
        while item is not grpc.aio.EOF:
            yield cast(pb.StreamGenerateResponse, item)
            item = await call.read()
    except grpc.aio.AioRpcError as error:
        raise from_rpc_error(error) from None
    finally:
        call.cancel()  # the client went away mid-stream: stop L04's generation too
