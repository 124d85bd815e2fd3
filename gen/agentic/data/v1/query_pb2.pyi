from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Filter(_message.Message):
    __slots__ = ("field", "op", "value")
    class Operator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OPERATOR_UNSPECIFIED: _ClassVar[Filter.Operator]
        OPERATOR_EQUAL: _ClassVar[Filter.Operator]
        OPERATOR_NOT_EQUAL: _ClassVar[Filter.Operator]
        OPERATOR_LESS_THAN: _ClassVar[Filter.Operator]
        OPERATOR_LESS_THAN_OR_EQUAL: _ClassVar[Filter.Operator]
        OPERATOR_GREATER_THAN: _ClassVar[Filter.Operator]
        OPERATOR_GREATER_THAN_OR_EQUAL: _ClassVar[Filter.Operator]
        OPERATOR_IN: _ClassVar[Filter.Operator]
    OPERATOR_UNSPECIFIED: Filter.Operator
    OPERATOR_EQUAL: Filter.Operator
    OPERATOR_NOT_EQUAL: Filter.Operator
    OPERATOR_LESS_THAN: Filter.Operator
    OPERATOR_LESS_THAN_OR_EQUAL: Filter.Operator
    OPERATOR_GREATER_THAN: Filter.Operator
    OPERATOR_GREATER_THAN_OR_EQUAL: Filter.Operator
    OPERATOR_IN: Filter.Operator
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    field: str
    op: Filter.Operator
    value: _struct_pb2.Value
    def __init__(self, field: _Optional[str] = ..., op: _Optional[_Union[Filter.Operator, str]] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class OrderBy(_message.Message):
    __slots__ = ("field", "descending")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCENDING_FIELD_NUMBER: _ClassVar[int]
    field: str
    descending: bool
    def __init__(self, field: _Optional[str] = ..., descending: _Optional[bool] = ...) -> None: ...
