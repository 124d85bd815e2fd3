import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoutingStrategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTING_STRATEGY_UNSPECIFIED: _ClassVar[RoutingStrategy]
    ROUTING_STRATEGY_CAPABILITY: _ClassVar[RoutingStrategy]
    ROUTING_STRATEGY_COST: _ClassVar[RoutingStrategy]
    ROUTING_STRATEGY_LATENCY: _ClassVar[RoutingStrategy]
    ROUTING_STRATEGY_QUALITY: _ClassVar[RoutingStrategy]
    ROUTING_STRATEGY_PINNED: _ClassVar[RoutingStrategy]
    ROUTING_STRATEGY_ROUND_ROBIN: _ClassVar[RoutingStrategy]

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_STOP: _ClassVar[FinishReason]
    FINISH_REASON_LENGTH: _ClassVar[FinishReason]
    FINISH_REASON_TOOL_USE: _ClassVar[FinishReason]
ROUTING_STRATEGY_UNSPECIFIED: RoutingStrategy
ROUTING_STRATEGY_CAPABILITY: RoutingStrategy
ROUTING_STRATEGY_COST: RoutingStrategy
ROUTING_STRATEGY_LATENCY: RoutingStrategy
ROUTING_STRATEGY_QUALITY: RoutingStrategy
ROUTING_STRATEGY_PINNED: RoutingStrategy
ROUTING_STRATEGY_ROUND_ROBIN: RoutingStrategy
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_TOOL_USE: FinishReason

class Message(_message.Message):
    __slots__ = ("role", "content", "tool_calls", "tool_call_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_call_id: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_call_id: _Optional[str] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ("name", "description", "input_schema")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    input_schema: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., input_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("id", "name", "arguments")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    arguments: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RoutingHints(_message.Message):
    __slots__ = ("strategy", "provider", "capabilities", "no_fallback")
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    NO_FALLBACK_FIELD_NUMBER: _ClassVar[int]
    strategy: RoutingStrategy
    provider: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    no_fallback: bool
    def __init__(self, strategy: _Optional[_Union[RoutingStrategy, str]] = ..., provider: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., no_fallback: _Optional[bool] = ...) -> None: ...

class CacheControl(_message.Message):
    __slots__ = ("bypass", "ttl_seconds", "similarity_threshold", "explain")
    BYPASS_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    bypass: bool
    ttl_seconds: int
    similarity_threshold: float
    explain: bool
    def __init__(self, bypass: _Optional[bool] = ..., ttl_seconds: _Optional[int] = ..., similarity_threshold: _Optional[float] = ..., explain: _Optional[bool] = ...) -> None: ...

class CacheReport(_message.Message):
    __slots__ = ("outcome", "similarity", "refused_kind", "reason")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    REFUSED_KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    outcome: str
    similarity: float
    refused_kind: str
    reason: str
    def __init__(self, outcome: _Optional[str] = ..., similarity: _Optional[float] = ..., refused_kind: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "cost_usd")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("messages", "system", "tools", "response_schema", "temperature", "max_tokens", "model", "routing", "agent_id", "tenant_id", "cache")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ROUTING_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    system: str
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    response_schema: _struct_pb2.Struct
    temperature: float
    max_tokens: int
    model: str
    routing: RoutingHints
    agent_id: str
    tenant_id: str
    cache: CacheControl
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., system: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., response_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., temperature: _Optional[float] = ..., max_tokens: _Optional[int] = ..., model: _Optional[str] = ..., routing: _Optional[_Union[RoutingHints, _Mapping]] = ..., agent_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., cache: _Optional[_Union[CacheControl, _Mapping]] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("content", "tool_calls", "usage", "model", "provider", "latency", "cached", "finish_reason", "structured", "failed_providers", "cache_report")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    STRUCTURED_FIELD_NUMBER: _ClassVar[int]
    FAILED_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    CACHE_REPORT_FIELD_NUMBER: _ClassVar[int]
    content: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    usage: Usage
    model: str
    provider: str
    latency: _duration_pb2.Duration
    cached: bool
    finish_reason: FinishReason
    structured: _struct_pb2.Value
    failed_providers: _containers.RepeatedScalarFieldContainer[str]
    cache_report: CacheReport
    def __init__(self, content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., cached: _Optional[bool] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ..., structured: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., failed_providers: _Optional[_Iterable[str]] = ..., cache_report: _Optional[_Union[CacheReport, _Mapping]] = ...) -> None: ...

class StreamGenerateRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: GenerateRequest
    def __init__(self, request: _Optional[_Union[GenerateRequest, _Mapping]] = ...) -> None: ...

class StreamGenerateResponse(_message.Message):
    __slots__ = ("text_delta", "final")
    TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    text_delta: str
    final: GenerateResponse
    def __init__(self, text_delta: _Optional[str] = ..., final: _Optional[_Union[GenerateResponse, _Mapping]] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("texts", "model", "agent_id", "tenant_id")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    model: str
    agent_id: str
    tenant_id: str
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., agent_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings", "dimension", "model", "provider", "usage")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    dimension: int
    model: str
    provider: str
    usage: Usage
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., dimension: _Optional[int] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ...) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("tools", "json", "vision", "streaming", "embeddings", "context_length")
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    VISION_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    tools: bool
    json: bool
    vision: bool
    streaming: bool
    embeddings: bool
    context_length: int
    def __init__(self, tools: _Optional[bool] = ..., json: _Optional[bool] = ..., vision: _Optional[bool] = ..., streaming: _Optional[bool] = ..., embeddings: _Optional[bool] = ..., context_length: _Optional[int] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("id", "provider", "provider_model", "capabilities", "input_cost_per_token", "output_cost_per_token", "expected_latency", "quality", "available", "ready")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MODEL_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    INPUT_COST_PER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_COST_PER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LATENCY_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    provider_model: str
    capabilities: Capabilities
    input_cost_per_token: float
    output_cost_per_token: float
    expected_latency: _duration_pb2.Duration
    quality: int
    available: bool
    ready: bool
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., provider_model: _Optional[str] = ..., capabilities: _Optional[_Union[Capabilities, _Mapping]] = ..., input_cost_per_token: _Optional[float] = ..., output_cost_per_token: _Optional[float] = ..., expected_latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., quality: _Optional[int] = ..., available: _Optional[bool] = ..., ready: _Optional[bool] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("provider", "available_only")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_ONLY_FIELD_NUMBER: _ClassVar[int]
    provider: str
    available_only: bool
    def __init__(self, provider: _Optional[str] = ..., available_only: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "default_model", "default_embedding_model")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    default_model: str
    default_embedding_model: str
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., default_model: _Optional[str] = ..., default_embedding_model: _Optional[str] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("agent_id", "tenant_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    tenant_id: str
    def __init__(self, agent_id: _Optional[str] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class ModelUsage(_message.Message):
    __slots__ = ("model", "requests", "usage")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    model: str
    requests: int
    usage: Usage
    def __init__(self, model: _Optional[str] = ..., requests: _Optional[int] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("total", "requests", "cache_hits", "models")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    total: Usage
    requests: int
    cache_hits: int
    models: _containers.RepeatedCompositeFieldContainer[ModelUsage]
    def __init__(self, total: _Optional[_Union[Usage, _Mapping]] = ..., requests: _Optional[int] = ..., cache_hits: _Optional[int] = ..., models: _Optional[_Iterable[_Union[ModelUsage, _Mapping]]] = ...) -> None: ...
