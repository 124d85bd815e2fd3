"""Why a compatible call failed: the HTTP status, the platform E-code and the message, from
either the request body (refused here) or L04's gRPC status (refused there)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import status_pb2

from services.kit.errors import error_info

# The gateway's code for a body that is not what the API expects (render/errors.py's E9400).
BAD_REQUEST_CODE = "E9400"
NOT_FOUND_CODE = "E9404"
# L04 answered with a status that carried no platform code (it never should).
UNKNOWN_CODE = "E9500"

_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class CompatError(Exception):
    """A failure to answer in the API's own error shape."""

    status: int  # HTTP status
    code: str  # platform E-code
    message: str
    param: str | None = None  # the request field at fault, when known
    retry_after: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def bad_request(param: str, message: str) -> CompatError:
    return CompatError(400, BAD_REQUEST_CODE, f"{param}: {message}", param)


def from_rpc_error(error: grpc.aio.AioRpcError) -> CompatError:
    """L04's refusal: its E-code and field from the status details, its HTTP status from the
    gRPC code (as Envoy's transcoder maps them)."""
    code, param = UNKNOWN_CODE, None
    retry_after = None
    for key, value in error.trailing_metadata() or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            info = error_info(status_pb2.Status.FromString(value))
            if info is not None:
                code = info.reason
                param = info.metadata.get("field") or None
        elif key == "retry-after" and isinstance(value, str):
            retry_after = value
    status = _HTTP_STATUS.get(error.code(), 500)
    message = (error.details() or error.code().name).removeprefix(f"{code}: ")
    return CompatError(status, code, message, param, retry_after)
