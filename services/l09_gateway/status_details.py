"""``grpc-status-details-bin`` for the gateway's own refusals, so gRPC clients read the same
E9xxx code REST clients get in the JSON body."""

from __future__ import annotations

import base64

from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from services.kit.layers import GATEWAY

DOMAIN = GATEWAY.domain
DETAILS_HEADER = "grpc-status-details-bin"

# The refusals both the L09 process (ext_authz, the rate limit service) and Envoy's own
# filters give (render/errors.py has every code of the gateway).
UNAUTHENTICATED = "E9401"
PERMISSION_DENIED = "E9403"
RATE_LIMITED = "E9001"
# A message that is not JSON for the method (the JSON codec, as Envoy's E9400 for REST).
MALFORMED = "E9400"
# The method's layer is not in this mesh (as Envoy's E9503 for a layer it cannot reach).
UNAVAILABLE = "E9503"
# A gRPC method no layer serves (unknown service, or unknown method of a known one).
UNKNOWN_METHOD = "E9404"


def status(code: int, message: str, reason: str) -> status_pb2.Status:
    """A google.rpc.Status with an ErrorInfo of the gateway's domain."""
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN))
    return status_pb2.Status(code=code, message=message, details=[detail])


def details_value(code: int, message: str, reason: str) -> str:
    """The header value: that Status, base64 as gRPC sends it."""
    return base64.b64encode(status(code, message, reason).SerializeToString()).decode().rstrip("=")
