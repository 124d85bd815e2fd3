"""Server reflection for the whole mesh, served by the L09 process at the gateway.

Envoy routes ``grpc.reflection.v1`` and ``v1alpha`` calls here, after its auth: a client that
may call the gateway discovers every service of every layer from the descriptor set the
gateway itself is built from, with no local protos. grpcio-reflection ships only v1alpha; v1
is the same protocol under another package name, so one servicer answers both, and the pool
holds a v1 copy of the reflection file so that v1 describes itself too.
"""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2

V1ALPHA = reflection.SERVICE_NAME  # grpc.reflection.v1alpha.ServerReflection
V1 = "grpc.reflection.v1.ServerReflection"
SERVICES = (V1, V1ALPHA)
METHOD = "ServerReflectionInfo"

_V1ALPHA_PACKAGE = "grpc.reflection.v1alpha"
_V1_PACKAGE = "grpc.reflection.v1"


def _renamed(type_name: str) -> str:
    old = f".{_V1ALPHA_PACKAGE}."
    return f".{_V1_PACKAGE}." + type_name[len(old) :] if type_name.startswith(old) else type_name


def v1_file(v1alpha: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """The v1alpha reflection file renamed to v1 (same messages, same field numbers)."""
    renamed = descriptor_pb2.FileDescriptorProto()
    renamed.CopyFrom(v1alpha)
    renamed.name = "grpc/reflection/v1/reflection.proto"
    renamed.package = _V1_PACKAGE
    renamed.ClearField("options")
    for message in renamed.message_type:  # the reflection messages nest none
        for field in message.field:
            if field.type_name:  # set only on message and enum fields
                field.type_name = _renamed(field.type_name)
    for service in renamed.service:
        for method in service.method:
            method.input_type = _renamed(method.input_type)
            method.output_type = _renamed(method.output_type)
    return renamed


def _reflection_file() -> descriptor_pb2.FileDescriptorProto:
    found = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(found)
    return found


def mesh_pool(files: descriptor_pb2.FileDescriptorSet) -> descriptor_pool.DescriptorPool:
    """Every file of the descriptor set (in its order: imports first), and both reflection
    files."""
    pool = descriptor_pool.DescriptorPool()
    names = set()
    for file in files.file:
        pool.Add(file)
        names.add(file.name)
    v1alpha = _reflection_file()
    for file in (v1alpha, v1_file(v1alpha)):
        if file.name not in names:
            pool.Add(file)
    return pool


def add_reflection(
    server: grpc.aio.Server, pool: descriptor_pool.DescriptorPool, services: list[str]
) -> None:
    """Serves reflection for ``services`` (and itself) from ``pool`` (``mesh_pool``)."""
    servicer = reflection.aio.ReflectionServicer([*services, *SERVICES], pool=pool)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(name, {METHOD: handler}) for name in SERVICES]
    )
