"""L04's ModelService as the compatible APIs call it: in this process, for the caller the
request's headers name.

Envoy admits a compatible call first (ext_authz or its identity filter, then its rate limits,
as the L04 RPC the path maps to) and sends it on with the mesh's service token and the
caller's identity headers, exactly as it sends a gRPC call: the caller is read from them as
the kit's interceptor reads a gRPC call's (``caller_of``), and the servicer's own methods
answer, so routing, fallback, limits, budgets, caches and usage apply unchanged. JSON in a
request (schemas, tool arguments) was checked against the mesh's depth limit as the body was
mapped (fields.json_struct), as the kit's interceptor checks a gRPC call's.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import cast

from agentic.models.v1 import models_pb2 as pb
from services.kit import get_logger
from services.kit.auth import Caller, TokenAuthenticator, act_as, caller_of
from services.kit.errors import ErrorCatalog, PlatformError
from services.l04_models.compat.failures import from_platform_error
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
        with self._serving(caller):
            return await self._servicer.Generate(request, None)

    async def stream(
        self, request: pb.GenerateRequest, caller: Caller
    ) -> AsyncIterator[pb.StreamGenerateResponse]:
        """L04's stream; its first message is read before this returns, so that a refusal
        (bad input, no capable model, limits) is raised here, before any response is sent."""
        with self._serving(caller):
            replies = cast(
                AsyncGenerator[pb.StreamGenerateResponse, None],
                self._servicer.StreamGenerate(pb.StreamGenerateRequest(request=request), None),
            )
            first = await anext(replies, None)
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
            with self._serving(None):
                async for reply in replies:
                    yield reply
        finally:
            # The client went away mid-stream: closing the generator stops the generation too.
            await replies.aclose()

    async def embed(self, request: pb.EmbedRequest, caller: Caller) -> pb.EmbedResponse:
        with self._serving(caller):
            return await self._servicer.Embed(request, None)

    async def list_models(self, caller: Caller) -> pb.ListModelsResponse:
        with self._serving(caller):
            return await self._servicer.ListModels(pb.ListModelsRequest(), None)

    @contextmanager
    def _serving(self, caller: Caller | None) -> Iterator[None]:
        """Serves for ``caller`` (None: the one already set), and turns a refusal into the
        API's: L04's own as it is, anything unexpected logged and answered as internal."""
        if caller is not None:
            act_as(caller)
        try:
            yield
        except PlatformError as error:
            raise from_platform_error(error) from None
        except Exception as error:
            log.error("compat.unexpected_error", exc_info=error)
            internal = PlatformError(self._errors.internal, "internal error; see the server log")
            raise from_platform_error(internal) from None
