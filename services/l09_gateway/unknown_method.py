"""The answer to a gRPC call of a method no layer serves: UNIMPLEMENTED, E9404, named.

Envoy sends every gRPC call no route of a method took (after its auth) here, with its path
rewritten to ``UNKNOWN_METHOD_PATH`` (so no such call can reach the services of this process
Envoy itself uses) and the method in ``x-envoy-original-path``. The answer goes out without
reading the request: a client that keeps its stream open still hears at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.l09_gateway.names import ORIGINAL_PATH_HEADER, UNKNOWN_METHOD_PATH
from services.l09_gateway.status_details import DOMAIN, UNKNOWN_METHOD


def describe(path: str, methods: Iterable[str]) -> str:
    """Why ``path`` (``/pkg.Service/Method``) names no method of ``methods`` (gRPC paths)."""
    service, _, name = path.removeprefix("/").partition("/")
    known = {method.removeprefix("/").partition("/")[0] for method in methods}
    if not service or not name:
        return f"{path!r} is not a gRPC method path (/package.Service/Method)"
    if service in known:
        return f"unknown method {path}: {service} has no method {name}"
    return f"unknown method {path}: the mesh has no service {service}"


def unknown_method_status(path: str, methods: Iterable[str]) -> status_pb2.Status:
    info = error_details_pb2.ErrorInfo(
        reason=UNKNOWN_METHOD, domain=DOMAIN, metadata={"method": path}
    )
    status = status_pb2.Status(
        code=code_pb2.UNIMPLEMENTED, message=f"{UNKNOWN_METHOD}: {describe(path, methods)}"
    )
    status.details.add().Pack(info)
    return status


class UnknownMethodHandler(grpc.GenericRpcHandler):
    """Serves ``UNKNOWN_METHOD_PATH`` only; ``methods`` are the mesh's gRPC paths."""

    def __init__(self, methods: Iterable[str]) -> None:
        self._methods = frozenset(methods)
        self._handler = grpc.stream_unary_rpc_method_handler(self._refuse)

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        if handler_call_details.method == UNKNOWN_METHOD_PATH:
            return self._handler
        return None

    async def _refuse(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> bytes:
        """Any cardinality: the client's requests are never read, and no message is sent."""
        path = dict(context.invocation_metadata() or ()).get(ORIGINAL_PATH_HEADER, "")
        await context.abort_with_status(
            rpc_status.to_status(unknown_method_status(str(path), self._methods))
        )
        raise AssertionError("context.abort_with_status returned")  # it always raises
