"""The mesh's RPC surface, read from the descriptor set buf builds (gen/descriptor.binpb).

Shared by the gateway (routes, OpenAPI) and the NL layer (the service catalog).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DESCRIPTOR_PATH = PROJECT_ROOT / "gen" / "descriptor.binpb"

# Only the platform's own packages are served; imports (google.*) are not.
PLATFORM_PREFIX = "agentic."

# Method names that only read: safe to retry, whatever their HTTP verb.
IDEMPOTENT_PREFIXES = ("Get", "List", "Read", "Search", "Query", "BatchGet", "Check", "Describe")


@dataclass(frozen=True)
class HttpBinding:
    """One ``google.api.http`` rule: verb, path template and body field."""

    verb: str  # "get", "post", ...
    template: str  # e.g. "/v1/streams/{stream_id}:append"
    body: str  # "" (none), "*" or a field name


@dataclass(frozen=True)
class Method:
    package: str  # e.g. "agentic.data.v1"
    service: str  # full name, e.g. "agentic.data.v1.EventStoreService"
    name: str  # e.g. "AppendEvents"
    input_type: str  # full message name, no leading dot
    output_type: str
    client_streaming: bool
    server_streaming: bool
    http: tuple[HttpBinding, ...]
    comment: str

    @property
    def path(self) -> str:
        """The gRPC path, ``/pkg.Service/Method``."""
        return f"/{self.service}/{self.name}"

    @property
    def rpc(self) -> str:
        """``pkg.Service/Method``: how policies name it."""
        return f"{self.service}/{self.name}"

    @property
    def idempotent(self) -> bool:
        """Reads are safe to retry: an HTTP GET binding or a reading name (Get*, List*...)."""
        if self.client_streaming:
            return False
        return self.name.startswith(IDEMPOTENT_PREFIXES) or any(
            binding.verb == "get" for binding in self.http
        )


def _bindings(rule: http_pb2.HttpRule) -> list[HttpBinding]:
    pattern = rule.WhichOneof("pattern")
    found = []
    if pattern == "custom":
        found.append(HttpBinding(rule.custom.kind.lower(), rule.custom.path, rule.body))
    elif pattern:
        found.append(HttpBinding(pattern, getattr(rule, pattern), rule.body))
    for extra in rule.additional_bindings:
        found += _bindings(extra)
    return found


def _comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    return {
        tuple(location.path): location.leading_comments.strip()
        for location in file.source_code_info.location
        if location.leading_comments
    }


@dataclass(frozen=True)
class Surface:
    """Every service and message of the descriptor set, and the platform's methods."""

    files: descriptor_pb2.FileDescriptorSet
    methods: tuple[Method, ...]

    @property
    def packages(self) -> list[str]:
        """Platform packages that define at least one service, sorted."""
        return sorted({method.package for method in self.methods})

    @property
    def services(self) -> list[str]:
        return sorted({method.service for method in self.methods})

    def message_comments(self) -> dict[str, str]:
        """Leading comments of messages and fields, by full name (``pkg.Msg.field``)."""
        found: dict[str, str] = {}
        for file in self.files.file:
            comments = _comments(file)
            for index, message in enumerate(file.message_type):
                _visit_message(message, file.package, (4, index), comments, found)
        return found


def _visit_message(
    message: descriptor_pb2.DescriptorProto,
    prefix: str,
    path: tuple[int, ...],
    comments: dict[tuple[int, ...], str],
    found: dict[str, str],
) -> None:
    name = f"{prefix}.{message.name}"
    found[name] = comments.get(path, "")
    for index, field in enumerate(message.field):
        found[f"{name}.{field.name}"] = comments.get((*path, 2, index), "")
    for index, nested in enumerate(message.nested_type):
        _visit_message(nested, name, (*path, 3, index), comments, found)


def load(path: Path = DESCRIPTOR_PATH) -> Surface:
    files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    methods = []
    for file in files.file:
        if not file.package.startswith(PLATFORM_PREFIX):
            continue
        comments = _comments(file)
        for s_index, service in enumerate(file.service):
            full = f"{file.package}.{service.name}"
            for m_index, method in enumerate(service.method):
                rule = method.options.Extensions[annotations_pb2.http]
                methods.append(
                    Method(
                        package=file.package,
                        service=full,
                        name=method.name,
                        input_type=method.input_type.lstrip("."),
                        output_type=method.output_type.lstrip("."),
                        client_streaming=method.client_streaming,
                        server_streaming=method.server_streaming,
                        http=tuple(_bindings(rule)),
                        comment=comments.get((6, s_index, 2, m_index), ""),
                    )
                )
    methods.sort(key=lambda m: m.path)
    return Surface(files, tuple(methods))
