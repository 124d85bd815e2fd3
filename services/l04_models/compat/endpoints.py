"""The compatible APIs' HTTP routes: read the body, map it, call L04, map the answer back.

Every answer names the provider and model that answered in ``x-agentic-provider`` and
``x-agentic-model`` (a stream names them in its last events: they are known only then).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentic.models.v1 import models_pb2 as pb
from services.kit import compat_paths as paths
from services.kit import get_logger
from services.l04_models.compat import anthropic_api, openai_api
from services.l04_models.compat.failures import NOT_FOUND_CODE, CompatError, bad_request
from services.l04_models.compat.models_client import ModelsClient

log = get_logger("l04.compat")

PROVIDER_HEADER = "x-agentic-provider"
MODEL_HEADER = "x-agentic-model"

ErrorShape = Callable[[CompatError], dict[str, Any]]
Handler = Callable[[Request], Awaitable[Response]]


def _answered_by(provider: str, model: str) -> dict[str, str]:
    return {PROVIDER_HEADER: provider, MODEL_HEADER: model}


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("body", "not valid JSON") from None
    except RecursionError:
        raise bad_request("body", "JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise bad_request("body", "must be a JSON object")
    return body


def _error_response(failure: CompatError, shape: ErrorShape) -> JSONResponse:
    headers = {"retry-after": failure.retry_after} if failure.retry_after else None
    return JSONResponse(shape(failure), status_code=failure.status, headers=headers)


def _api(shape: ErrorShape, handler: Handler) -> Handler:
    """Refusals in the API's own error shape."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except CompatError as failure:
            log.debug("compat.refused", path=request.url.path, code=failure.code)
            return _error_response(failure, shape)

    return endpoint


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


# Any other method or path under a prefix: 404 in the API's shape (not Starlette's plain text).
_ANY = ["GET", "POST", "PUT", "PATCH", "DELETE"]

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class CompatEndpoints:
    def __init__(self, models: ModelsClient) -> None:
        self._models = models

    def routes(self) -> list[Route]:
        openai = openai_api.error
        anthropic = anthropic_api.error
        return [
            Route(paths.OPENAI_CHAT, _api(openai, self.chat), methods=["POST"]),
            Route(paths.OPENAI_EMBEDDINGS, _api(openai, self.embeddings), methods=["POST"]),
            Route(paths.OPENAI_MODELS, _api(openai, self.models), methods=["GET"]),
            Route(paths.ANTHROPIC_MESSAGES, _api(anthropic, self.messages), methods=["POST"]),
            Route(
                paths.ANTHROPIC_COUNT_TOKENS, _api(anthropic, self.count_tokens), methods=["POST"]
            ),
            Route(paths.OPENAI_PREFIX + "{rest:path}", _api(openai, _unknown), methods=_ANY),
            Route(paths.ANTHROPIC_PREFIX + "{rest:path}", _api(anthropic, _unknown), methods=_ANY),
        ]

    # -- OpenAI --------------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        body = await _body(request)
        caller = self._models.caller(request.headers)
        generate, stream = openai_api.generate_request(body)
        completion_id = openai_api.completion_id()
        if not stream:
            reply = await self._models.generate(generate, caller)
            return JSONResponse(
                openai_api.completion(reply, completion_id),
                headers=_answered_by(reply.provider, reply.model),
            )
        replies = await self._models.stream(generate, caller)
        with_usage = openai_api.include_usage_in_stream(body)
        events = _openai_events(replies, completion_id, generate.model, with_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)

    async def embeddings(self, request: Request) -> Response:
        caller = self._models.caller(request.headers)
        body = await _body(request)
        embed, kind = openai_api.embed_request(body), openai_api.encoding_format(body)
        reply = await self._models.embed(embed, caller)
        return JSONResponse(
            openai_api.embeddings(reply, kind), headers=_answered_by(reply.provider, reply.model)
        )

    async def models(self, request: Request) -> Response:
        reply = await self._models.list_models(self._models.caller(request.headers))
        return JSONResponse(openai_api.models(reply))

    # -- Anthropic -----------------------------------------------------------------------

    async def messages(self, request: Request) -> Response:
        caller = self._models.caller(request.headers)
        generate, stream = anthropic_api.generate_request(await _body(request))
        message_id = anthropic_api.message_id()
        if not stream:
            reply = await self._models.generate(generate, caller)
            return JSONResponse(
                anthropic_api.message(reply, message_id),
                headers=_answered_by(reply.provider, reply.model),
            )
        replies = await self._models.stream(generate, caller)
        events = _anthropic_events(replies, message_id, generate.model)
        return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)

    async def count_tokens(self, request: Request) -> Response:
        self._models.caller(request.headers)
        body = await _body(request)
        body.setdefault("max_tokens", 1)  # count_tokens takes no max_tokens
        generate, _ = anthropic_api.generate_request(body)
        return JSONResponse({"input_tokens": anthropic_api.estimated_input_tokens(generate)})


async def _unknown(request: Request) -> Response:
    raise CompatError(404, NOT_FOUND_CODE, f"no such endpoint: {request.method} {request.url.path}")


async def _openai_events(
    replies: AsyncIterator[pb.StreamGenerateResponse],
    completion_id: str,
    asked_model: str,
    with_usage: bool,
) -> AsyncIterator[bytes]:
    role = {"role": "assistant", "content": ""}
    yield _sse(openai_api.chunk(completion_id, asked_model, role))
    try:
        async for reply in replies:
            if reply.HasField("final"):
                for last in openai_api.final_chunks(reply.final, completion_id, with_usage):
                    yield _sse(last)
            else:
                delta = {"content": reply.text_delta}
                yield _sse(openai_api.chunk(completion_id, asked_model, delta))
    except CompatError as failure:
        # Mid-stream the status is already sent: the error goes in the stream, as OpenAI's does.
        yield _sse(openai_api.error(failure))
        return
    yield b"data: [DONE]\n\n"


async def _anthropic_events(
    replies: AsyncIterator[pb.StreamGenerateResponse], message_id: str, asked_model: str
) -> AsyncIterator[bytes]:
    yield _sse(anthropic_api.message_start(message_id, asked_model), "message_start")
    text_open = False
    try:
        async for reply in replies:
            if reply.HasField("final"):
                for event in anthropic_api.final_events(reply.final, text_open):
                    yield _sse(event, event["type"])
            elif reply.text_delta:
                if not text_open:
                    yield _sse(anthropic_api.text_block_start(), "content_block_start")
                    text_open = True
                yield _sse(anthropic_api.text_delta(reply.text_delta), "content_block_delta")
    except CompatError as failure:
        yield _sse(anthropic_api.error(failure), "error")
