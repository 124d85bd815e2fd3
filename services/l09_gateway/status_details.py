"""``grpc-status-details-bin`` for the gateway's own refusals, so gRPC clients read the same
E9xxx code REST clients get in the JSON body."""

from __future__ import annotations

import base64

from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

DOMAIN = "gateway.agentic"
DETAILS_HEADER = "grpc-status-details-bin"


def details_value(code: int, message: str, reason: str) -> str:
    """The header value: a google.rpc.Status with an ErrorInfo, base64 as gRPC sends it."""
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN))
    status = status_pb2.Status(code=code, message=message, details=[detail])
    return base64.b64encode(status.SerializeToString()).decode().rstrip("=")
