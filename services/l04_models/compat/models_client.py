"""L04's ModelService as the compatible APIs call it: in this process, for the caller the
request's headers name.

Envoy admits a compatible call first (ext_authz or its identity filter, then its rate limits,
as the L04 RPC the path maps to) and sends it on with the mesh's service token and the
caller's identity headers, exactly as it sends a gRPC call: the caller is read from them as
the kit's interceptor reads a gRPC call's (``caller_of``), and the servicer's own methods
answer, so routing, fallback, limits, budgets, caches and usage apply unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import cast

from agentic.models.v1 import models_pb2 as pb
from services.kit import get_logger
from services.kit.auth import Caller, TokenAuthenticator, act_as, caller_of
from services.kit.errors import ErrorCatalog, PlatformError
from services.kit.json_depth import MAX_JSON_DEPTH, too_deep_field
from services.l04_models.compat.failures import CompatError, from_platform_error
from services.l04_models.server import ModelServicer

log = get_logger("l04.compat")


class ModelsClient:
    def __init__(
        self, servicer: ModelServicer, authenticator: TokenAuthenticator, errors: ErrorCatalog
    ) -> None:
        self._servicer = servicer
        self._auth = authenticator
        self._errors = errors

    def caller(self, headers: Mapping[str, str]) -> Caller:
        """Who the request is from; a request Envoy did not send on (no service token, nor
        the layer's own key) is refused as a gRPC call without credentials would be."""
        caller = caller_of(self._auth, headers)
        if caller is None:
            reason = "missing" if not headers.get("authorization") else "invalid"
            raise from_platform_error(
                PlatformError(self._errors.unauthenticated, f"{reason} credentials")
            )
        return caller

    async def generate(self, request: pb.GenerateRequest, caller: Caller) -> pb.GenerateResponse:
        self._check_depth(request)
        act_as(caller)
        try:
            return await self._servicer.Generate(request, None)
        except Exception as error:
            raise self._failure(error) from None

    async def stream(
        self, request: pb.GenerateRequest, caller: Caller
    ) -> AsyncIterator[pb.StreamGenerateResponse]:
        """L04's stream; its first message is read before this returns, so that a refusal
        (bad input, no capable model, limits) is raised here, before any response is sent."""
        self._check_depth(request)
        act_as(caller)
        replies = cast(
            AsyncGenerator[pb.StreamGenerateResponse, None],
            self._servicer.StreamGenerate(pb.StreamGenerateRequest(request=request), None),
        )
        try:
            first = await anext(replies)
        except StopAsyncIteration:
            first = None
        except Exception as error:
            raise self._failure(error) from None
        return self._rest_of(replies, first)

    async def _rest_of(
        self,
        replies: AsyncGenerator[pb.StreamGenerateResponse, None],
        first: pb.StreamGenerateResponse | None,
    ) -> AsyncIterator[pb.StreamGenerateResponse]:
        if first is None:
            return
        yield first
        try:
            async for reply in replies:
                yield reply
        except Exception as error:
            raise self._failure(error) from None
        finally:
            # The client went away mid-stream: closing the generator stops the generation too.
            await replies.aclose()

    async def embed(self, request: pb.EmbedRequest, caller: Caller) -> pb.EmbedResponse:
        act_as(caller)
        try:
            return await self._servicer.Embed(request, None)
        except Exception as error:
            raise self._failure(error) from None

    async def list_models(self, caller: Caller) -> pb.ListModelsResponse:
        act_as(caller)
        try:
            return await self._servicer.ListModels(pb.ListModelsRequest(), None)
        except Exception as error:
            raise self._failure(error) from None

    def _check_depth(self, request: pb.GenerateRequest) -> None:
        """JSON nested deeper than the mesh allows (tool schemas, a response schema) is
        refused as on a gRPC call, where the kit's interceptor checks every request."""
        if not request.tools and not request.HasField("response_schema"):
            return
        field = too_deep_field(request, request.SerializeToString())
        if field is not None:
            message = f"{field}: JSON nested deeper than {MAX_JSON_DEPTH} levels"
            raise from_platform_error(
                PlatformError(self._errors.invalid_argument, message, field=field)
            )

    def _failure(self, error: Exception) -> CompatError:
        if isinstance(error, PlatformError):
            return from_platform_error(error)
        log.error("compat.unexpected_error", exc_info=error)
        return from_platform_error(
            PlatformError(self._errors.internal, "internal error; see the server log")
        )
