import datetime

from agentic.common.v1 import event_pb2 as _event_pb2
from agentic.data.v1 import event_store_pb2 as _event_store_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsumerGroup(_message.Message):
    __slots__ = ("group_id", "type_prefix", "start_position", "checkpoint", "consumer_connected", "delivered_position", "create_time", "acked_by", "ack_time")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    START_POSITION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_POSITION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACKED_BY_FIELD_NUMBER: _ClassVar[int]
    ACK_TIME_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    type_prefix: str
    start_position: int
    checkpoint: int
    consumer_connected: bool
    delivered_position: int
    create_time: _timestamp_pb2.Timestamp
    acked_by: str
    ack_time: _timestamp_pb2.Timestamp
    def __init__(self, group_id: _Optional[str] = ..., type_prefix: _Optional[str] = ..., start_position: _Optional[int] = ..., checkpoint: _Optional[int] = ..., consumer_connected: _Optional[bool] = ..., delivered_position: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acked_by: _Optional[str] = ..., ack_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateConsumerGroupRequest(_message.Message):
    __slots__ = ("group_id", "type_prefix", "start_position")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    START_POSITION_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    type_prefix: str
    start_position: int
    def __init__(self, group_id: _Optional[str] = ..., type_prefix: _Optional[str] = ..., start_position: _Optional[int] = ...) -> None: ...

class CreateConsumerGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: ConsumerGroup
    def __init__(self, group: _Optional[_Union[ConsumerGroup, _Mapping]] = ...) -> None: ...

class GetConsumerGroupRequest(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class GetConsumerGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: ConsumerGroup
    def __init__(self, group: _Optional[_Union[ConsumerGroup, _Mapping]] = ...) -> None: ...

class ListConsumerGroupsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConsumerGroupsResponse(_message.Message):
    __slots__ = ("groups", "next_page_token")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[ConsumerGroup]
    next_page_token: str
    def __init__(self, groups: _Optional[_Iterable[_Union[ConsumerGroup, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteConsumerGroupRequest(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    def __init__(self, group_id: _Optional[str] = ...) -> None: ...

class DeleteConsumerGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: ConsumerGroup
    def __init__(self, group: _Optional[_Union[ConsumerGroup, _Mapping]] = ...) -> None: ...

class SubscribeConsumerGroupRequest(_message.Message):
    __slots__ = ("group_id", "max_batch_size")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    max_batch_size: int
    def __init__(self, group_id: _Optional[str] = ..., max_batch_size: _Optional[int] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_event_pb2.Event]
    def __init__(self, events: _Optional[_Iterable[_Union[_event_pb2.Event, _Mapping]]] = ...) -> None: ...

class SubscribeConsumerGroupResponse(_message.Message):
    __slots__ = ("batch", "caught_up")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    batch: EventBatch
    caught_up: _event_store_pb2.CaughtUp
    def __init__(self, batch: _Optional[_Union[EventBatch, _Mapping]] = ..., caught_up: _Optional[_Union[_event_store_pb2.CaughtUp, _Mapping]] = ...) -> None: ...

class AckConsumerGroupRequest(_message.Message):
    __slots__ = ("group_id", "position")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    position: int
    def __init__(self, group_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class AckConsumerGroupResponse(_message.Message):
    __slots__ = ("group",)
    GROUP_FIELD_NUMBER: _ClassVar[int]
    group: ConsumerGroup
    def __init__(self, group: _Optional[_Union[ConsumerGroup, _Mapping]] = ...) -> None: ...
