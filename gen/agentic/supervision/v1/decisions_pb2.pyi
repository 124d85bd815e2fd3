import datetime

from agentic.supervision.v1 import resources_pb2 as _resources_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EvaluateRequest(_message.Message):
    __slots__ = ("principal", "action", "resource", "context", "request_id", "approval_ttl")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_TTL_FIELD_NUMBER: _ClassVar[int]
    principal: _resources_pb2.Entity
    action: str
    resource: _resources_pb2.Entity
    context: _struct_pb2.Struct
    request_id: str
    approval_ttl: _duration_pb2.Duration
    def __init__(self, principal: _Optional[_Union[_resources_pb2.Entity, _Mapping]] = ..., action: _Optional[str] = ..., resource: _Optional[_Union[_resources_pb2.Entity, _Mapping]] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., request_id: _Optional[str] = ..., approval_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class DecidingPolicy(_message.Message):
    __slots__ = ("id", "effect", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    effect: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., effect: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("decision", "policies", "reasons", "approval", "policy_version", "context")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    decision: _resources_pb2.Decision
    policies: _containers.RepeatedCompositeFieldContainer[DecidingPolicy]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    approval: _resources_pb2.Approval
    policy_version: int
    context: _struct_pb2.Struct
    def __init__(self, decision: _Optional[_Union[_resources_pb2.Decision, str]] = ..., policies: _Optional[_Iterable[_Union[DecidingPolicy, _Mapping]]] = ..., reasons: _Optional[_Iterable[str]] = ..., approval: _Optional[_Union[_resources_pb2.Approval, _Mapping]] = ..., policy_version: _Optional[int] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
