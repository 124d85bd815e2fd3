import datetime

from agentic.common.v1 import event_pb2 as _event_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReadDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    READ_DIRECTION_UNSPECIFIED: _ClassVar[ReadDirection]
    READ_DIRECTION_FORWARDS: _ClassVar[ReadDirection]
    READ_DIRECTION_BACKWARDS: _ClassVar[ReadDirection]
READ_DIRECTION_UNSPECIFIED: ReadDirection
READ_DIRECTION_FORWARDS: ReadDirection
READ_DIRECTION_BACKWARDS: ReadDirection

class NewEvent(_message.Message):
    __slots__ = ("id", "type", "data", "metadata")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: str
    data: _struct_pb2.Struct
    metadata: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AppendEventsRequest(_message.Message):
    __slots__ = ("stream_id", "expected_version", "events")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    expected_version: int
    events: _containers.RepeatedCompositeFieldContainer[NewEvent]
    def __init__(self, stream_id: _Optional[str] = ..., expected_version: _Optional[int] = ..., events: _Optional[_Iterable[_Union[NewEvent, _Mapping]]] = ...) -> None: ...

class AppendEventsResponse(_message.Message):
    __slots__ = ("stream_id", "first_version", "last_version", "first_position", "last_position", "event_ids")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAST_VERSION_FIELD_NUMBER: _ClassVar[int]
    FIRST_POSITION_FIELD_NUMBER: _ClassVar[int]
    LAST_POSITION_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    first_version: int
    last_version: int
    first_position: int
    last_position: int
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stream_id: _Optional[str] = ..., first_version: _Optional[int] = ..., last_version: _Optional[int] = ..., first_position: _Optional[int] = ..., last_position: _Optional[int] = ..., event_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class AppendEventsWithDocumentsRequest(_message.Message):
    __slots__ = ("append", "documents")
    APPEND_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    append: AppendEventsRequest
    documents: _containers.RepeatedCompositeFieldContainer[DocumentWrite]
    def __init__(self, append: _Optional[_Union[AppendEventsRequest, _Mapping]] = ..., documents: _Optional[_Iterable[_Union[DocumentWrite, _Mapping]]] = ...) -> None: ...

class DocumentWrite(_message.Message):
    __slots__ = ("name", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    content: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AppendEventsWithDocumentsResponse(_message.Message):
    __slots__ = ("appended",)
    APPENDED_FIELD_NUMBER: _ClassVar[int]
    appended: AppendEventsResponse
    def __init__(self, appended: _Optional[_Union[AppendEventsResponse, _Mapping]] = ...) -> None: ...

class AppendStreamRequest(_message.Message):
    __slots__ = ("correlation_id", "append")
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    APPEND_FIELD_NUMBER: _ClassVar[int]
    correlation_id: str
    append: AppendEventsRequest
    def __init__(self, correlation_id: _Optional[str] = ..., append: _Optional[_Union[AppendEventsRequest, _Mapping]] = ...) -> None: ...

class AppendStreamResponse(_message.Message):
    __slots__ = ("correlation_id", "appended", "error")
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    APPENDED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    correlation_id: str
    appended: AppendEventsResponse
    error: _status_pb2.Status
    def __init__(self, correlation_id: _Optional[str] = ..., appended: _Optional[_Union[AppendEventsResponse, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class ReadStreamRequest(_message.Message):
    __slots__ = ("stream_id", "from_version", "max_count", "direction")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    from_version: int
    max_count: int
    direction: ReadDirection
    def __init__(self, stream_id: _Optional[str] = ..., from_version: _Optional[int] = ..., max_count: _Optional[int] = ..., direction: _Optional[_Union[ReadDirection, str]] = ...) -> None: ...

class ReadStreamResponse(_message.Message):
    __slots__ = ("events", "next_version", "last_version", "end_of_stream")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_VERSION_FIELD_NUMBER: _ClassVar[int]
    LAST_VERSION_FIELD_NUMBER: _ClassVar[int]
    END_OF_STREAM_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    next_version: int
    last_version: int
    end_of_stream: bool
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., next_version: _Optional[int] = ..., last_version: _Optional[int] = ..., end_of_stream: _Optional[bool] = ...) -> None: ...

class ReadAllRequest(_message.Message):
    __slots__ = ("from_position", "max_count", "type_prefix")
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    TYPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    from_position: int
    max_count: int
    type_prefix: str
    def __init__(self, from_position: _Optional[int] = ..., max_count: _Optional[int] = ..., type_prefix: _Optional[str] = ...) -> None: ...

class ReadAllResponse(_message.Message):
    __slots__ = ("events", "next_position", "end_of_log")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_POSITION_FIELD_NUMBER: _ClassVar[int]
    END_OF_LOG_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    next_position: int
    end_of_log: bool
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ..., next_position: _Optional[int] = ..., end_of_log: _Optional[bool] = ...) -> None: ...

class SubscribeAllRequest(_message.Message):
    __slots__ = ("from_position", "type_prefix")
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    TYPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    from_position: int
    type_prefix: str
    def __init__(self, from_position: _Optional[int] = ..., type_prefix: _Optional[str] = ...) -> None: ...

class SubscribeAllResponse(_message.Message):
    __slots__ = ("event", "caught_up")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    event: _event_pb2.Event
    caught_up: CaughtUp
    def __init__(self, event: _Optional[_Union[_event_pb2.Event, _Mapping]] = ..., caught_up: _Optional[_Union[CaughtUp, _Mapping]] = ...) -> None: ...

class CaughtUp(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: int
    def __init__(self, position: _Optional[int] = ...) -> None: ...

class Stream(_message.Message):
    __slots__ = ("stream_id", "last_version", "metadata", "deleted")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_VERSION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    last_version: int
    metadata: StreamMetadata
    deleted: bool
    def __init__(self, stream_id: _Optional[str] = ..., last_version: _Optional[int] = ..., metadata: _Optional[_Union[StreamMetadata, _Mapping]] = ..., deleted: _Optional[bool] = ...) -> None: ...

class StreamMetadata(_message.Message):
    __slots__ = ("max_count", "max_age")
    MAX_COUNT_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    max_count: int
    max_age: _duration_pb2.Duration
    def __init__(self, max_count: _Optional[int] = ..., max_age: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetStreamRequest(_message.Message):
    __slots__ = ("stream_id",)
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    def __init__(self, stream_id: _Optional[str] = ...) -> None: ...

class GetStreamResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: Stream
    def __init__(self, stream: _Optional[_Union[Stream, _Mapping]] = ...) -> None: ...

class UpdateStreamMetadataRequest(_message.Message):
    __slots__ = ("stream_id", "metadata")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    metadata: StreamMetadata
    def __init__(self, stream_id: _Optional[str] = ..., metadata: _Optional[_Union[StreamMetadata, _Mapping]] = ...) -> None: ...

class UpdateStreamMetadataResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: Stream
    def __init__(self, stream: _Optional[_Union[Stream, _Mapping]] = ...) -> None: ...

class DeleteStreamRequest(_message.Message):
    __slots__ = ("stream_id", "expected_version")
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    stream_id: str
    expected_version: int
    def __init__(self, stream_id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteStreamResponse(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: Stream
    def __init__(self, stream: _Optional[_Union[Stream, _Mapping]] = ...) -> None: ...
