"""The mesh's limit on how deeply JSON carried in a request may nest.

JSON travels in ``google.protobuf.Struct`` / ``Value`` / ``ListValue`` fields (event data,
documents, response schemas). protobuf's decoder stops at 100 levels of message nesting, and
Envoy's JSON printer at the same depth on the way out, with three message levels per JSON
object level: a document nested 34 levels deep decodes in a layer but can never be read back
through REST. So the mesh allows ``MAX_JSON_DEPTH`` (32) levels of objects, checked here on
every request, and refuses deeper ones as bad input naming the limit.

Both checks run in C. First the whole request is decoded again five message levels down (in a
probe message made for its type): if that succeeds, no JSON field in it can pass the limit,
and that is the answer for any ordinary request. Only when it fails is each JSON field
serialized and decoded again as a Struct placed two object levels down, which fails exactly
when the field nests more than 32 levels of objects (an array level counts as two thirds of an
object level, as it costs protobuf two message levels instead of three).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

from google.protobuf import descriptor_pb2, message_factory, struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

MAX_JSON_DEPTH = 32

_STRUCT, _VALUE, _LIST = (
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
)
# Object levels a probe adds above the field; calibrated with the limit (tests check both).
_PROBE_LEVELS = 2
# Message levels the whole-request probe adds: a JSON field directly in the request then has
# exactly the room a field probe gives (2 object levels = 6 message levels, less its own).
_REQUEST_PROBE_LEVELS = 5
_PROBE_PACKAGE = "agentic.kit.depth_probe"
_MIN_BYTES_TOO_DEEP = 2 * 3 * MAX_JSON_DEPTH


@dataclass(frozen=True)
class _Step:
    field: FieldDescriptor
    json: str | None  # the JSON type's full name, or None for a message to descend into
    below: tuple[_Step, ...] = ()


@functools.cache
def _plan(descriptor: Descriptor) -> tuple[_Step, ...]:
    return _plan_for(descriptor, frozenset())


def _plan_for(descriptor: Descriptor, seen: frozenset[str]) -> tuple[_Step, ...]:
    steps = []
    for field in descriptor.fields:
        kind = field.message_type
        if kind is None or kind.GetOptions().map_entry:
            continue
        if kind.full_name in (_STRUCT, _VALUE, _LIST):
            steps.append(_Step(field, kind.full_name))
        elif not kind.full_name.startswith("google.") and kind.full_name not in seen:
            below = _plan_for(kind, seen | {descriptor.full_name})
            if below:
                steps.append(_Step(field, None, below))
    return tuple(steps)


def _header(number: int, length: int) -> bytes:
    out = bytearray()
    for value in (number << 3 | 2, length):
        while True:
            low, value = value & 0x7F, value >> 7
            out.append(low | (0x80 if value else 0))
            if not value:
                break
    return bytes(out)


def _in_value(value: bytes) -> bytes:
    """A Struct ``{"": <value>}``: one object level above a Value's bytes."""
    entry = _header(2, len(value)) + value  # key "" omitted; value = field 2
    return _header(1, len(entry)) + entry


def _as_value(kind: str, raw: bytes) -> bytes:
    if kind == _VALUE:
        return raw
    number = 5 if kind == _STRUCT else 6  # Value.struct_value / Value.list_value
    return _header(number, len(raw)) + raw


def _too_deep(kind: str, message: Message) -> bool:
    probe = _as_value(kind, message.SerializeToString())
    for _ in range(_PROBE_LEVELS):
        probe = _as_value(_STRUCT, _in_value(probe))
    try:
        struct_pb2.Value.FromString(probe)
    except DecodeError:
        return True
    return False


def _values(message: Message, field: FieldDescriptor) -> Iterator[Message]:
    if field.is_repeated:
        yield from getattr(message, field.name)
    elif message.HasField(field.name):
        yield getattr(message, field.name)


def _first_too_deep(message: Message, steps: tuple[_Step, ...], prefix: str) -> str | None:
    for step in steps:
        for index, value in enumerate(_values(message, step.field)):
            name = step.field.name
            path = f"{prefix}{name}[{index}]" if step.field.is_repeated else f"{prefix}{name}"
            if step.json is not None:
                if _too_deep(step.json, value):
                    return path
            else:
                found = _first_too_deep(value, step.below, f"{path}.")
                if found is not None:
                    return found
    return None


@functools.cache
def _request_probe(descriptor: Descriptor) -> type[Message]:
    """A message type ``Probe { Probe inner = 1; <Request> request = 2; }`` for ``descriptor``."""
    name = descriptor.full_name.replace(".", "_")
    file = descriptor_pb2.FileDescriptorProto(
        name=f"{_PROBE_PACKAGE.replace('.', '/')}/{name}.proto",
        package=_PROBE_PACKAGE,
        dependency=[descriptor.file.name],
        syntax="proto3",
    )
    probe = file.message_type.add(name=name)
    for number, field_name, type_name in (
        (1, "inner", f".{_PROBE_PACKAGE}.{name}"),
        (2, "request", f".{descriptor.full_name}"),
    ):
        probe.field.add(
            name=field_name,
            number=number,
            type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
            label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            type_name=type_name,
        )
    pool = descriptor.file.pool
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PROBE_PACKAGE}.{name}"))


def _fits_lower_down(descriptor: Descriptor, raw: bytes) -> bool:
    probe = _header(2, len(raw)) + raw
    for _ in range(_REQUEST_PROBE_LEVELS - 1):
        probe = _header(1, len(probe)) + probe
    try:
        _request_probe(descriptor).FromString(probe)
    except DecodeError:
        return False
    return True


def too_deep_field(message: Message, raw: bytes) -> str | None:
    """The path of the first JSON field of ``message`` (decoded from ``raw``) nesting deeper
    than MAX_JSON_DEPTH, or None."""
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    steps = _plan(descriptor)
    # Every message level costs at least two bytes (tag and length): a short request cannot
    # reach the depth the decoder refuses.
    if not steps or len(raw) < _MIN_BYTES_TOO_DEEP or _fits_lower_down(descriptor, raw):
        return None
    return _first_too_deep(message, steps, "")
