"""The catalog: every service and RPC of the mesh, read from the descriptor set at start.

Nothing here is written by hand: a layer whose proto is in the descriptor set appears with
its RPCs, doc comments, schemas, REST bindings and error codes, whichever layer it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from services.kit import PlatformError
from services.kit.descriptors import Method, Surface
from services.kit.layers import layer_for_package
from services.l12_nl import errors
from services.l12_nl.schemas import JsonSchema, message_schema

# Platform codes a proto comment names, e.g. "NOT_FOUND (E1300)".
_ERROR_CODE = re.compile(r"\bE\d{4,5}\b")


@dataclass(frozen=True)
class HttpRoute:
    method: str  # "GET", "POST", ...
    path: str
    body: str


@dataclass(frozen=True)
class CatalogMethod:
    """One RPC as the catalog describes it."""

    name: str  # "agentic.data.v1.EventStoreService.AppendEvents"
    service: str
    layer: str  # "l01_data"
    description: str
    request_type: str
    response_type: str
    http: tuple[HttpRoute, ...]
    client_streaming: bool
    server_streaming: bool
    mutating: bool
    error_codes: tuple[str, ...]
    request_schema: JsonSchema = field(repr=False, compare=False)
    response_schema: JsonSchema = field(repr=False, compare=False)

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[1]

    @property
    def grpc_path(self) -> str:
        """``/pkg.Service/Method``."""
        return f"/{self.service}/{self.short_name}"

    @property
    def unary(self) -> bool:
        return not (self.client_streaming or self.server_streaming)


@dataclass(frozen=True)
class CatalogService:
    name: str
    layer: str
    description: str
    methods: tuple[CatalogMethod, ...]


@dataclass(frozen=True)
class Page:
    services: tuple[CatalogService, ...]
    next_page_token: str
    total_size: int


class Catalog:
    """The services and methods of one descriptor set, with message classes to call them."""

    def __init__(self, surface: Surface) -> None:
        self._pool = descriptor_pool.DescriptorPool()
        for file in surface.files.file:
            self._pool.Add(file)
        comments = surface.message_comments()
        service_comments = _service_comments(surface)
        by_service: dict[str, list[CatalogMethod]] = {}
        for method in surface.methods:
            by_service.setdefault(method.service, []).append(self._method(method, comments))
        self.services: tuple[CatalogService, ...] = tuple(
            CatalogService(
                name=name,
                layer=methods[0].layer,
                description=service_comments.get(name, ""),
                methods=tuple(methods),
            )
            for name, methods in sorted(by_service.items())
        )
        self._services = {service.name: service for service in self.services}
        self._methods = {m.name: m for service in self.services for m in service.methods}

    @cached_property
    def methods(self) -> tuple[CatalogMethod, ...]:
        return tuple(self._methods.values())

    def _method(self, method: Method, comments: dict[str, str]) -> CatalogMethod:
        return CatalogMethod(
            name=f"{method.service}.{method.name}",
            service=method.service,
            layer=layer_for_package(method.package).name,
            description=method.comment,
            request_type=method.input_type,
            response_type=method.output_type,
            http=tuple(HttpRoute(b.verb.upper(), b.template, b.body) for b in method.http),
            client_streaming=method.client_streaming,
            server_streaming=method.server_streaming,
            mutating=not method.idempotent,
            error_codes=tuple(dict.fromkeys(_ERROR_CODE.findall(method.comment))),
            request_schema=message_schema(
                self._pool.FindMessageTypeByName(method.input_type), comments
            ),
            response_schema=message_schema(
                self._pool.FindMessageTypeByName(method.output_type), comments
            ),
        )

    def service(self, name: str) -> CatalogService:
        found = self._services.get(name.strip())
        if found is None:
            raise PlatformError(
                errors.UNKNOWN_SERVICE,
                f"no service {name!r}; GET /v1/services lists them",
                field="service",
            )
        return found

    def method(self, name: str) -> CatalogMethod:
        """By full name, ``pkg.Service.Method`` or ``pkg.Service/Method`` (a leading ``/``
        allowed)."""
        wanted = name.strip().lstrip("/").replace("/", ".")
        found = self._methods.get(wanted)
        if found is None:
            raise PlatformError(
                errors.UNKNOWN_METHOD,
                f"no method {name!r}; search with POST /v1/services:search",
                field="method",
            )
        return found

    def page(self, page_size: int, page_token: str) -> Page:
        """Services in name order after ``page_token`` (the last name of the previous page)."""
        start = 0
        if page_token:
            if page_token not in self._services:
                raise PlatformError(
                    errors.INVALID_ARGUMENT, "unknown page token", field="page_token"
                )
            start = [s.name for s in self.services].index(page_token) + 1
        chosen = self.services[start : start + page_size]
        more = start + page_size < len(self.services)
        return Page(chosen, chosen[-1].name if more and chosen else "", len(self.services))

    def message_class(self, full_name: str) -> type[Message]:
        return message_factory.GetMessageClass(self._pool.FindMessageTypeByName(full_name))


def _service_comments(surface: Surface) -> dict[str, str]:
    found = {}
    for file in surface.files.file:
        locations = {
            tuple(location.path): location.leading_comments.strip()
            for location in file.source_code_info.location
            if location.leading_comments
        }
        for index, service in enumerate(file.service):
            found[f"{file.package}.{service.name}"] = locations.get((6, index), "")
    return found
