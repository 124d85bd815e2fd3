"""Exact-match answer cache in Redis, per tenant.

The key is a hash of everything that shapes the answer (conversation, system prompt,
tools, schema, temperature, max tokens, model and routing hints) under the tenant's
prefix, so one tenant never reads another's answers. It is read in the admission round
trip (limits.py), so a lookup costs no round trip of its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import redis.asyncio as redis

from services.l04_models.conversation import (
    Completion,
    FinishReason,
    GenerationRequest,
    ToolCall,
    Usage,
)


def request_fingerprint(request: GenerationRequest, *, include_messages: bool = True) -> str:
    shape: dict[str, Any] = {
        "system": request.system,
        "tools": [dataclasses.asdict(t) for t in request.tools],
        "schema": request.response_schema,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "model": request.model,
        "routing": [request.routing.strategy.value, request.routing.provider,
                    sorted(request.routing.capabilities)],
    }  # fmt: skip
    if include_messages:
        shape["messages"] = [dataclasses.asdict(m) for m in request.messages]
    canonical = json.dumps(shape, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def completion_to_json(completion: Completion) -> str:
    body = dataclasses.asdict(completion)
    body["finish_reason"] = completion.finish_reason.value
    return json.dumps(body, separators=(",", ":"))


def completion_from_json(text: str | bytes) -> Completion:
    body = json.loads(text)
    return Completion(
        content=body["content"],
        model=body["model"],
        provider=body["provider"],
        usage=Usage(**body["usage"]),
        finish_reason=FinishReason(body["finish_reason"]),
        tool_calls=tuple(ToolCall(**c) for c in body["tool_calls"]),
        structured=body.get("structured"),
    )


class ExactCache:
    def __init__(self, client: redis.Redis, default_ttl: int) -> None:
        self._redis = client
        self._ttl = default_ttl

    @staticmethod
    def key(request: GenerationRequest) -> str:
        return f"l04:cache:{request.tenant_id or '-'}:{request_fingerprint(request)}"

    async def put(
        self, request: GenerationRequest, completion: Completion, key: str | None = None
    ) -> None:
        """``key``: the request's key when already computed (hashing it is not free)."""
        ttl = request.cache.ttl_seconds or self._ttl
        await self._redis.set(key or self.key(request), completion_to_json(completion), ex=ttl)
