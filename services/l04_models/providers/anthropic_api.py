"""The `anthropic` provider: the Messages API through the official SDK.

The SDK's own retries are off: the gateway retries (honouring retry-after) and falls back
across providers itself, and a hidden second retry loop would multiply the waits.
A response schema becomes a forced tool call whose input is the answer: the API then
returns a JSON object shaped by the schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import grpc

from services.l04_models.conversation import (
    Completion,
    Embeddings,
    FinishReason,
    GenerationRequest,
    Message,
    ToolCall,
    Usage,
)
from services.l04_models.provider_keys import ProviderKey
from services.l04_models.providers.base import (
    ProviderError,
    StreamItem,
    http_retryable,
    parse_retry_after,
)
from services.l04_models.registry import ModelSpec

NAME = "anthropic"
KEY_NAME = "ANTHROPIC_API_KEY"  # the variable, and the secret's name in L00
DEFAULT_MAX_TOKENS = 1024
ANSWER_TOOL = "respond_with_json"
_FINISH = {"max_tokens": FinishReason.LENGTH, "tool_use": FinishReason.TOOL_USE}


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
        ]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    blocks += [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
        for c in message.tool_calls
    ]
    return blocks


def _messages(request: GenerationRequest) -> list[dict[str, Any]]:
    """Tool results travel as user turns; consecutive turns of one role are merged."""
    merged: list[dict[str, Any]] = []
    for message in request.messages:
        role = "user" if message.role == "tool" else message.role
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += _blocks(message)
        else:
            merged.append({"role": role, "content": _blocks(message)})
    return merged


def request_params(model: ModelSpec, request: GenerationRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": model.provider_model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": _messages(request),
    }
    if request.system:
        params["system"] = request.system
    if request.temperature is not None:
        params["temperature"] = min(request.temperature, 1.0)
    tools = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema}
        for t in request.tools
    ]
    if request.response_schema is not None and not tools:
        tools = [
            {
                "name": ANSWER_TOOL,
                "description": "Give the answer as a JSON object.",
                "input_schema": request.response_schema,
            }
        ]
        params["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
    if tools:
        params["tools"] = tools
    return params


def completion(model: ModelSpec, message: Any) -> Completion:
    text, calls = [], []
    for block in message.content:
        if block.type == "text":
            text.append(block.text)
        elif block.type == "tool_use" and block.name == ANSWER_TOOL:
            text.append(json.dumps(block.input))
        elif block.type == "tool_use":
            calls.append(ToolCall(block.id, block.name, dict(block.input)))
    finish = _FINISH.get(message.stop_reason or "", FinishReason.STOP)
    if finish is FinishReason.TOOL_USE and not calls:
        finish = FinishReason.STOP  # the forced answer tool: the answer is complete
    usage = message.usage
    return Completion(
        content="".join(text),
        model=model.id,
        provider=NAME,
        usage=Usage(usage.input_tokens, usage.output_tokens),
        finish_reason=finish,
        tool_calls=tuple(calls),
    )


def provider_error(error: Exception) -> ProviderError:
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        return ProviderError(
            NAME,
            f"HTTP {status}: {error.message}",
            retryable=http_retryable(status),
            retry_after=parse_retry_after(error.response.headers.get("retry-after")),
            status=status,
        )
    if isinstance(error, anthropic.APITimeoutError):
        return ProviderError(NAME, "timed out", retryable=True)
    return ProviderError(NAME, f"unreachable: {error}", retryable=True)


class AnthropicProvider:
    name = NAME

    def __init__(
        self, api_key: str | ProviderKey | None, base_url: str | None, timeout: float
    ) -> None:
        self._key = api_key if isinstance(api_key, ProviderKey) else ProviderKey(KEY_NAME, api_key)
        self._base_url = base_url
        self._timeout = timeout
        self._client: tuple[str, anthropic.AsyncAnthropic] | None = None
        self._retired: list[anthropic.AsyncAnthropic] = []  # clients of replaced keys
        if self._key.value is not None:
            # Made here, not in a call's time: a client loads its TLS context (tens of ms).
            self._client = (self._key.value, self._new_client(self._key.value))

    def _new_client(self, key: str) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=key, base_url=self._base_url, max_retries=0, timeout=self._timeout
        )

    def available(self) -> bool:
        return self._key.value is not None

    async def _require(self) -> anthropic.AsyncAnthropic:
        """A client holding the key to use now (a rotated key gets a new client)."""
        try:
            key = await self._key.refresh()
        except grpc.aio.AioRpcError:
            key = self._key.value  # L00 unreachable: the last key it gave, else the env's
        if key is None:
            raise ProviderError(NAME, f"{KEY_NAME} is not set (neither in L00 nor the environment)")
        if self._client is None or self._client[0] != key:
            if self._client is not None:
                self._retired.append(self._client[1])  # calls in flight may still use it
            self._client = (key, self._new_client(key))
        return self._client[1]

    async def generate(self, model: ModelSpec, request: GenerationRequest) -> Completion:
        client = await self._require()
        try:
            message = await client.messages.create(**request_params(model, request))
        except anthropic.APIError as error:
            raise provider_error(error) from error
        return completion(model, message)

    async def stream(
        self, model: ModelSpec, request: GenerationRequest
    ) -> AsyncIterator[StreamItem]:
        client = await self._require()
        try:
            async with client.messages.stream(**request_params(model, request)) as stream:
                async for event in stream:
                    if event.type == "text":
                        yield event.text
                message = await stream.get_final_message()
        except anthropic.APIError as error:
            raise provider_error(error) from error
        yield completion(model, message)

    async def embed(self, model: ModelSpec, texts: list[str]) -> Embeddings:
        raise ProviderError(NAME, "the Messages API has no embeddings", status=400)

    async def close(self) -> None:
        clients = [*self._retired, *([self._client[1]] if self._client else [])]
        for client in clients:
            await client.close()
