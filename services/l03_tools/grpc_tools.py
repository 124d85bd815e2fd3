"""Tools backed by a unary gRPC method of the mesh, registered by full method name
("agentic.data.v1.DocumentService/GetDocument"). The arguments are the request message as
JSON; the call goes to the layer serving the method's package, carrying the caller's
identity (the service token and the caller's principal and roles, as the gateway sends
them), so the layer records who asked. Registering such a tool is the grant: whoever may
execute it may make that call (registration is for admins, see gateway/policy.yaml)."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import descriptor, descriptor_pool, json_format, message_factory
from google.protobuf.message import Message

import agentic
from services.kit import PlatformError, layer_target
from services.kit.auth import PRINCIPAL_HEADER, ROLES_HEADER
from services.kit.layers import layer_for_package
from services.l03_tools import errors

_SCALARS = {
    descriptor.FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    descriptor.FieldDescriptor.TYPE_STRING: {"type": "string"},
    descriptor.FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    descriptor.FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    descriptor.FieldDescriptor.TYPE_FLOAT: {"type": "number"},
}
# Well-known types whose JSON form is not an object of their fields.
_WELL_KNOWN = {
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9.]+s$"},
    "google.protobuf.FieldMask": {"type": "string"},
}


@dataclass(frozen=True)
class MethodSpec:
    path: str  # "/agentic.data.v1.DocumentService/GetDocument"
    request: type[Message]
    response: type[Message]
    target: str  # host:port of the layer serving it


def _load_contracts() -> None:
    """Imports every generated module, so the default pool knows every method."""
    for module in pkgutil.walk_packages(agentic.__path__, "agentic."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)


def resolve(full_name: str) -> MethodSpec:
    """The method named "package.Service/Method" (a leading "/" is accepted)."""
    _load_contracts()
    service_name, _, method_name = full_name.strip("/").partition("/")
    invalid = PlatformError(
        errors.INVALID_TOOL,
        f"grpc_method {full_name!r} is not a unary method of the mesh "
        "('package.Service/Method', e.g. 'agentic.data.v1.DocumentService/GetDocument')",
        field="tool.grpc_method",
    )
    try:
        method = descriptor_pool.Default().FindMethodByName(f"{service_name}.{method_name}")
        layer = layer_for_package(method.containing_service.file.package)
    except KeyError as exc:
        raise invalid from exc
    if method.client_streaming or method.server_streaming:
        raise invalid
    return MethodSpec(
        path=f"/{service_name}/{method_name}",
        request=message_factory.GetMessageClass(method.input_type),
        response=message_factory.GetMessageClass(method.output_type),
        target=layer_target(layer.key),
    )


def parameters_schema(full_name: str) -> dict[str, Any]:
    """A JSON Schema of the method's request in its JSON form (what a model is shown)."""
    return _message_schema(resolve(full_name).request.DESCRIPTOR, depth=0)


def _message_schema(message: Any, depth: int) -> dict[str, Any]:
    if message.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[message.full_name])
    if depth > 4:
        return {"type": "object"}
    properties = {field.json_name: _field_schema(field, depth) for field in message.fields}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _field_schema(field: descriptor.FieldDescriptor, depth: int) -> dict[str, Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value = field.message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single_schema(value, depth)}
    single = _single_schema(field, depth)
    if field.is_repeated:
        return {"type": "array", "items": single}
    return single


def _single_schema(field: descriptor.FieldDescriptor, depth: int) -> dict[str, Any]:
    if field.message_type is not None:
        return _message_schema(field.message_type, depth + 1)
    if field.enum_type is not None:
        return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
    if field.type in _SCALARS:
        return dict(_SCALARS[field.type])
    # 64-bit integers travel as strings in JSON; 32-bit ones as numbers.
    return {"type": ["integer", "string"]}


class MethodCaller:
    """Calls methods with the caller's identity, one channel per layer."""

    def __init__(self, service_token: str | None) -> None:
        self._token = service_token
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def call(
        self,
        spec: MethodSpec,
        arguments: dict[str, Any],
        principal: str,
        roles: tuple[str, ...],
        timeout: float,
    ) -> tuple[int, str, dict[str, Any] | None]:
        """(gRPC status code, error message, the response as JSON when OK)."""
        request = spec.request()
        try:
            json_format.ParseDict(arguments, request)
        except json_format.ParseError as exc:
            raise PlatformError(errors.INVALID_ARGUMENTS, str(exc), field="arguments") from exc
        channel = self._channels.get(spec.target)
        if channel is None:
            channel = self._channels[spec.target] = grpc.aio.insecure_channel(spec.target)
        stub = channel.unary_unary(
            spec.path,
            request_serializer=spec.request.SerializeToString,
            response_deserializer=spec.response.FromString,
        )
        metadata = [(PRINCIPAL_HEADER, principal), (ROLES_HEADER, ",".join(roles))]
        if self._token:
            metadata.append(("authorization", f"Bearer {self._token}"))
        try:
            response = await stub(request, metadata=metadata, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            return exc.code().value[0], exc.details() or exc.code().name, None
        return 0, "", json_format.MessageToDict(response)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
