"""The `ollama` provider: Ollama's HTTP API (/api/chat, /api/embed) at OLLAMA_URL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from services.l04_models.conversation import (
    Completion,
    Embeddings,
    FinishReason,
    GenerationRequest,
    Message,
    ToolCall,
    Usage,
)
from services.l04_models.providers.base import (
    ProviderError,
    StreamItem,
    http_retryable,
    parse_retry_after,
)
from services.l04_models.providers.http11 import HttpFailure, JsonHttpClient
from services.l04_models.registry import ModelSpec

NAME = "ollama"


def _message(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        body["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.arguments}} for c in message.tool_calls
        ]
    return body


def chat_body(model: ModelSpec, request: GenerationRequest, stream: bool) -> dict[str, Any]:
    messages = [_message(m) for m in request.messages]
    if request.system:
        messages.insert(0, {"role": "system", "content": request.system})
    options: dict[str, Any] = {}
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.max_tokens:
        options["num_predict"] = request.max_tokens
    body: dict[str, Any] = {
        "model": model.provider_model,
        "messages": messages,
        "stream": stream,
        "options": options,
    }
    if request.response_schema is not None:
        body["format"] = request.response_schema
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                },
            }
            for t in request.tools
        ]
    return body


def _completion(model: ModelSpec, reply: dict[str, Any], content: str) -> Completion:
    calls = tuple(
        ToolCall(f"call_{i}", c["function"]["name"], dict(c["function"].get("arguments") or {}))
        for i, c in enumerate(reply.get("message", {}).get("tool_calls") or ())
    )
    finish = FinishReason.LENGTH if reply.get("done_reason") == "length" else FinishReason.STOP
    if calls:
        finish = FinishReason.TOOL_USE
    return Completion(
        content=content,
        model=model.id,
        provider=NAME,
        usage=Usage(reply.get("prompt_eval_count", 0), reply.get("eval_count", 0)),
        finish_reason=finish,
        tool_calls=calls,
    )


class OllamaProvider:
    name = NAME

    def __init__(self, url: str | None, timeout: float) -> None:
        self._client = JsonHttpClient(url, timeout) if url else None

    def available(self) -> bool:
        return self._client is not None

    def _require(self) -> JsonHttpClient:
        if self._client is None:
            raise ProviderError(NAME, "OLLAMA_URL is not set")
        return self._client

    @staticmethod
    def _check(status: int, headers: dict[str, str], body: bytes) -> None:
        if status >= 400:
            raise ProviderError(
                NAME,
                f"HTTP {status}: {body.decode(errors='replace')[:300]}",
                retryable=http_retryable(status),
                retry_after=parse_retry_after(headers.get("retry-after")),
                status=status,
            )

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            reply = await self._require().post(path, body)
        except HttpFailure as error:
            raise ProviderError(NAME, f"unreachable: {error}", retryable=True) from error
        self._check(reply.status, reply.headers, reply.body)
        try:
            return reply.json()
        except ValueError as error:
            raise ProviderError(NAME, f"not JSON: {reply.body[:200]!r}") from error

    async def generate(self, model: ModelSpec, request: GenerationRequest) -> Completion:
        reply = await self._post("/api/chat", chat_body(model, request, False))
        return _completion(model, reply, reply.get("message", {}).get("content", ""))

    async def stream(
        self, model: ModelSpec, request: GenerationRequest
    ) -> AsyncIterator[StreamItem]:
        client = self._require()
        text: list[str] = []
        last: dict[str, Any] = {}
        calls: list[dict[str, Any]] = []
        try:
            async with client.stream("/api/chat", chat_body(model, request, True)) as reply:
                if reply.status >= 400:
                    self._check(reply.status, reply.headers, await reply.read())
                async for line in reply.lines():
                    if not line.strip():
                        continue
                    last = json.loads(line)
                    message = last.get("message", {})
                    calls += message.get("tool_calls") or []
                    if message.get("content"):
                        text.append(message["content"])
                        yield message["content"]
        except HttpFailure as error:
            raise ProviderError(NAME, f"unreachable: {error}", retryable=True) from error
        last.setdefault("message", {})["tool_calls"] = calls
        yield _completion(model, last, "".join(text))

    async def embed(self, model: ModelSpec, texts: list[str]) -> Embeddings:
        reply = await self._post("/api/embed", {"model": model.provider_model, "input": texts})
        vectors = reply["embeddings"]
        return Embeddings(
            vectors=vectors,
            dimension=len(vectors[0]) if vectors else model.dimension,
            model=model.id,
            provider=NAME,
            usage=Usage(input_tokens=reply.get("prompt_eval_count", 0)),
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
