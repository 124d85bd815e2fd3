"""ModelService servicer: maps RPCs to the gateway, and back.

Every request acts in its caller's tenant (tenancy.py), whatever its body names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import redis.asyncio as redis
from google.protobuf import json_format, struct_pb2

from agentic.models.v1 import models_pb2 as pb
from agentic.models.v1 import models_pb2_grpc as pb_grpc
from services.kit import current_caller
from services.l04_models import usage as usage_store
from services.l04_models.conversation import (
    Answer,
    CachePolicy,
    FinishReason,
    GenerationRequest,
    Message,
    Routing,
    Strategy,
    ToolCall,
    ToolSpec,
    Usage,
)
from services.l04_models.gateway import ModelGateway
from services.l04_models.registry import ModelSpec
from services.l04_models.tenancy import agent_owner, bound_tenant
from services.l04_models.validation import invalid

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ModelService"].full_name

_STRATEGIES = {
    pb.ROUTING_STRATEGY_UNSPECIFIED: Strategy.CAPABILITY,
    pb.ROUTING_STRATEGY_CAPABILITY: Strategy.CAPABILITY,
    pb.ROUTING_STRATEGY_COST: Strategy.COST,
    pb.ROUTING_STRATEGY_LATENCY: Strategy.LATENCY,
    pb.ROUTING_STRATEGY_QUALITY: Strategy.QUALITY,
    pb.ROUTING_STRATEGY_PINNED: Strategy.PINNED,
    pb.ROUTING_STRATEGY_ROUND_ROBIN: Strategy.ROUND_ROBIN,
}
_FINISH = {
    FinishReason.STOP: pb.FINISH_REASON_STOP,
    FinishReason.LENGTH: pb.FINISH_REASON_LENGTH,
    FinishReason.TOOL_USE: pb.FINISH_REASON_TOOL_USE,
}


def _integral(value: Any) -> Any:
    """Struct holds every number as a double; JSON Schema wants integers where it says
    integer (maxLength 20, not 20.0), so whole numbers become ints again."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return _integral(json_format.MessageToDict(message))  # type: ignore[no-any-return]


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def to_request(request: pb.GenerateRequest, tenant: str) -> GenerationRequest:
    """``tenant``: the one the request acts in (bound_tenant), not its body's."""
    if request.routing.strategy not in _STRATEGIES:
        raise invalid("routing.strategy", f"unknown strategy {request.routing.strategy}")
    return GenerationRequest(
        messages=tuple(
            Message(
                role=m.role,
                content=m.content,
                tool_calls=tuple(ToolCall(c.id, c.name, _dict(c.arguments)) for c in m.tool_calls),
                tool_call_id=m.tool_call_id,
            )
            for m in request.messages
        ),
        system=request.system,
        tools=tuple(ToolSpec(t.name, t.description, _dict(t.input_schema)) for t in request.tools),
        response_schema=_dict(request.response_schema)
        if request.HasField("response_schema")
        else None,
        temperature=request.temperature if request.HasField("temperature") else None,
        max_tokens=request.max_tokens,
        model=request.model,
        routing=Routing(
            strategy=_STRATEGIES[request.routing.strategy],
            provider=request.routing.provider,
            capabilities=tuple(request.routing.capabilities),
            no_fallback=request.routing.no_fallback,
        ),
        agent_id=request.agent_id,
        tenant_id=tenant,
        cache=CachePolicy(
            bypass=request.cache.bypass,
            ttl_seconds=request.cache.ttl_seconds,
            similarity_threshold=request.cache.similarity_threshold,
            explain=request.cache.explain,
        ),
    )


def _usage(usage: Usage) -> pb.Usage:
    return pb.Usage(
        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, cost_usd=usage.cost_usd
    )


def to_response(answer: Answer) -> pb.GenerateResponse:
    completion = answer.completion
    response = pb.GenerateResponse(
        content=completion.content,
        tool_calls=[
            pb.ToolCall(id=c.id, name=c.name, arguments=_struct(c.arguments))
            for c in completion.tool_calls
        ],
        usage=_usage(completion.usage),
        model=completion.model,
        provider=completion.provider,
        cached=answer.cached,
        finish_reason=_FINISH[completion.finish_reason],
        failed_providers=list(answer.failed_providers),
    )
    response.latency.FromNanoseconds(int(answer.latency_seconds * 1e9))
    if completion.structured is not None:
        json_format.ParseDict(completion.structured, response.structured)
    if (report := answer.cache_report) is not None:
        response.cache_report.CopyFrom(pb.CacheReport(
            outcome=report.outcome, similarity=report.similarity,
            refused_kind=report.refused_kind, reason=report.reason,
        ))  # fmt: skip
    return response


class ModelServicer(pb_grpc.ModelServiceServicer):
    """``context`` is None when the compatible APIs (compat/) call a method in this process:
    no method reads it, the caller being ``current_caller()`` either way."""

    def __init__(
        self,
        gateway: ModelGateway,
        redis_client: redis.Redis,
        ready: Callable[[ModelSpec], bool],
    ) -> None:
        self._gateway = gateway
        self._redis = redis_client
        self._ready = ready

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext | None
    ) -> pb.GenerateResponse:
        tenant = bound_tenant(current_caller(), request.tenant_id)
        return to_response(await self._gateway.generate(to_request(request, tenant)))

    async def StreamGenerate(
        self, request: pb.StreamGenerateRequest, context: grpc.aio.ServicerContext | None
    ) -> AsyncIterator[pb.StreamGenerateResponse]:
        tenant = bound_tenant(current_caller(), request.request.tenant_id, "request.tenant_id")
        async for item in self._gateway.stream(to_request(request.request, tenant)):
            if isinstance(item, Answer):
                yield pb.StreamGenerateResponse(final=to_response(item))
            else:
                yield pb.StreamGenerateResponse(text_delta=item)

    async def Embed(
        self, request: pb.EmbedRequest, context: grpc.aio.ServicerContext | None
    ) -> pb.EmbedResponse:
        tenant = bound_tenant(current_caller(), request.tenant_id)
        result = await self._gateway.embed(
            list(request.texts), request.model, request.agent_id, tenant
        )
        return pb.EmbedResponse(
            embeddings=[pb.Embedding(values=v) for v in result.vectors],
            dimension=result.dimension,
            model=result.model,
            provider=result.provider,
            usage=_usage(result.usage),
        )

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext | None
    ) -> pb.ListModelsResponse:
        router = self._gateway.router
        response = pb.ListModelsResponse(
            default_embedding_model=router.registry.default_embedding_model
        )
        defaults = [m for m in router.registry.chat_models() if router.available(m)]
        defaults.sort(key=lambda m: router.registry.provider_rank(m.provider))
        response.default_model = defaults[0].id if defaults else ""
        for spec in router.registry:
            if request.provider and spec.provider != request.provider:
                continue
            available = router.available(spec)
            if request.available_only and not available:
                continue
            response.models.append(_model(spec, available, available and self._ready(spec)))
        return response

    async def GetUsage(
        self, request: pb.GetUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUsageResponse:
        caller = current_caller()
        tenant = bound_tenant(caller, request.tenant_id)
        if request.agent_id:
            owner = agent_owner(tenant, request.agent_id)
            report = await usage_store.read_usage(self._redis, "agent", owner)
        elif request.tenant_id or not caller.admin:
            report = await usage_store.read_usage(self._redis, "tenant", tenant)
        else:  # an admin naming nobody: the whole platform
            report = await usage_store.read_usage(self._redis, "all")
        return pb.GetUsageResponse(
            total=_usage(report.total),
            requests=report.requests,
            cache_hits=report.cache_hits,
            models=[
                pb.ModelUsage(model=name, requests=count, usage=_usage(usage))
                for name, (count, usage) in sorted(report.models.items())
            ],
        )


def _model(spec: ModelSpec, available: bool, ready: bool) -> pb.Model:
    caps = spec.capabilities
    model = pb.Model(
        id=spec.id,
        provider=spec.provider,
        provider_model=spec.provider_model,
        capabilities=pb.Capabilities(
            tools=caps.tools, json=caps.json_output, vision=caps.vision,
            streaming=caps.streaming, embeddings=caps.embeddings,
            context_length=caps.context_length,
        ),
        input_cost_per_token=spec.cost.input_per_token,
        output_cost_per_token=spec.cost.output_per_token,
        quality=spec.quality,
        available=available,
        ready=ready,
    )  # fmt: skip
    model.expected_latency.FromMilliseconds(int(spec.expected_latency_ms))
    return model
