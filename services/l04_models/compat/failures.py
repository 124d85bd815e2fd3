"""Why a compatible call failed: the HTTP status, the platform E-code and the message, from
either the request body (refused by the mapping) or L04's own refusal (a PlatformError)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import grpc

from services.kit.errors import PlatformError

# The gateway's code for a body that is not what the API expects (render/errors.py's E9400).
BAD_REQUEST_CODE = "E9400"
NOT_FOUND_CODE = "E9404"

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


def from_platform_error(error: PlatformError) -> CompatError:
    """L04's refusal: its E-code, field and message, its HTTP status from its gRPC code (as
    Envoy's transcoder maps them on L04's own REST paths), and for a limit the seconds to
    wait (``retry-after``)."""
    status = _HTTP_STATUS.get(error.error.kind.value, 500)
    retry_after = error.metadata.get("retry_after_seconds")
    if retry_after is not None:
        retry_after = str(max(1, math.ceil(float(retry_after))))  # HTTP's is whole seconds
    return CompatError(status, error.code, error.message, error.field or None, retry_after)
