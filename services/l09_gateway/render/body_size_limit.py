"""The body_size_limit filter's configuration message (Envoy 1.40). xds-protos 1.85 predates
the filter, so its one field is declared here, as in Envoy's
``api/envoy/extensions/filters/http/body_size_limit/v3/body_size_limit.proto``, into the
default descriptor pool (where envoy.yaml's ``@type`` is resolved); a later xds-protos that
ships it is used instead."""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

_PACKAGE = "envoy.extensions.filters.http.body_size_limit.v3"
_FILE = "envoy/extensions/filters/http/body_size_limit/v3/body_size_limit.proto"
_WRAPPERS = wrappers_pb2.DESCRIPTOR.name


def _declare(pool: descriptor_pool.DescriptorPool) -> None:
    field = descriptor_pb2.FieldDescriptorProto(
        name="max_request_bytes",
        number=1,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".google.protobuf.UInt32Value",
        json_name="maxRequestBytes",
    )
    pool.Add(
        descriptor_pb2.FileDescriptorProto(
            name=_FILE,
            package=_PACKAGE,
            syntax="proto3",
            dependency=[_WRAPPERS],
            message_type=[descriptor_pb2.DescriptorProto(name="BodySizeLimit", field=[field])],
        )
    )


def _message_class() -> type:
    pool = descriptor_pool.Default()
    try:
        descriptor = pool.FindMessageTypeByName(f"{_PACKAGE}.BodySizeLimit")
    except KeyError:
        _declare(pool)
        descriptor = pool.FindMessageTypeByName(f"{_PACKAGE}.BodySizeLimit")
    return message_factory.GetMessageClass(descriptor)


BodySizeLimit = _message_class()
