import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AskOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASK_OUTCOME_UNSPECIFIED: _ClassVar[AskOutcome]
    ASK_OUTCOME_INVOKED: _ClassVar[AskOutcome]
    ASK_OUTCOME_CONFIRMATION_REQUIRED: _ClassVar[AskOutcome]
ASK_OUTCOME_UNSPECIFIED: AskOutcome
ASK_OUTCOME_INVOKED: AskOutcome
ASK_OUTCOME_CONFIRMATION_REQUIRED: AskOutcome

class AskRequest(_message.Message):
    __slots__ = ("text", "conversation_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    conversation_id: str
    def __init__(self, text: _Optional[str] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class AskResponse(_message.Message):
    __slots__ = ("conversation_id", "method", "arguments", "outcome", "result", "confirmation_token", "expires_at", "description")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    method: str
    arguments: _struct_pb2.Struct
    outcome: AskOutcome
    result: _struct_pb2.Struct
    confirmation_token: str
    expires_at: _timestamp_pb2.Timestamp
    description: str
    def __init__(self, conversation_id: _Optional[str] = ..., method: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outcome: _Optional[_Union[AskOutcome, str]] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., confirmation_token: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., description: _Optional[str] = ...) -> None: ...

class ConfirmRequest(_message.Message):
    __slots__ = ("confirmation_token",)
    CONFIRMATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    confirmation_token: str
    def __init__(self, confirmation_token: _Optional[str] = ...) -> None: ...

class ConfirmResponse(_message.Message):
    __slots__ = ("method", "arguments", "result", "conversation_id")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    method: str
    arguments: _struct_pb2.Struct
    result: _struct_pb2.Struct
    conversation_id: str
    def __init__(self, method: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., conversation_id: _Optional[str] = ...) -> None: ...

class GetConversationRequest(_message.Message):
    __slots__ = ("conversation_id",)
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    def __init__(self, conversation_id: _Optional[str] = ...) -> None: ...

class Turn(_message.Message):
    __slots__ = ("text", "method", "arguments", "outcome", "confirmed", "create_time")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    text: str
    method: str
    arguments: _struct_pb2.Struct
    outcome: AskOutcome
    confirmed: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, text: _Optional[str] = ..., method: _Optional[str] = ..., arguments: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., outcome: _Optional[_Union[AskOutcome, str]] = ..., confirmed: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetConversationResponse(_message.Message):
    __slots__ = ("conversation_id", "turns")
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    TURNS_FIELD_NUMBER: _ClassVar[int]
    conversation_id: str
    turns: _containers.RepeatedCompositeFieldContainer[Turn]
    def __init__(self, conversation_id: _Optional[str] = ..., turns: _Optional[_Iterable[_Union[Turn, _Mapping]]] = ...) -> None: ...
