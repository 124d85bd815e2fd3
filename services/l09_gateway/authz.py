"""Envoy's ext_authz (envoy.service.auth.v3): who is calling, and may they call this RPC.

Envoy runs it after the transcoder, so REST and gRPC calls both arrive as the gRPC path of
their method; the compatible APIs' paths (/openai/v1/*, /anthropic/v1/*) are checked as the
L04 RPC each maps to (compat/paths.py). An allowed call continues with the layers' service
token and the caller's identity in headers that overwrite whatever the client sent.

The caller's rate limit is checked here too, so an API-key call costs one hop to this
process, not two: over the limit is a 429 (gRPC RESOURCE_EXHAUSTED, E9001) with
``retry-after``, and every answer carries the ``x-ratelimit-*`` headers Envoy's rate limit
filter would have sent. Envoy's filter is left to the calls ext_authz does not see (JWTs
Envoy verified itself, and the calls below).

An allowed API key also vouches for the caller for ``VOUCH_SECONDS``: the answer's dynamic
metadata names the caller, and Envoy's identity filter forwards that key's further calls to
the same RPC itself, with no hop here, their limits applied by Envoy's rate limit filter (see
native/identity.py). A revoked key is therefore refused once this process has read the key
file again (within a second) and the vouchers already given have run out.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2 as pb
from envoy.service.auth.v3 import external_auth_pb2_grpc as pb_grpc
from envoy.type.v3 import http_status_pb2
from google.protobuf import struct_pb2
from google.rpc import code_pb2, status_pb2

from services.kit import get_logger
from services.kit.compat_paths import is_compat_path, rpc_for_path
from services.l09_gateway.credentials import Authenticator, Identity, Unauthenticated
from services.l09_gateway.limits import Decision, RateLimiter
from services.l09_gateway.names import (
    CALLER_HEADER,
    CALLER_RPC_PREFIXES,
    ORIGINAL_PATH_HEADER,
    PRINCIPAL_HEADER,
    ROLES_HEADER,
    RPC_HEADER,
    TENANT_HEADER,
    TIER_HEADER,
    VOUCH_MS_KEY,
    VOUCH_PRINCIPAL_KEY,
    VOUCH_ROLES_KEY,
    VOUCH_TENANT_KEY,
    VOUCH_TIER_KEY,
)
from services.l09_gateway.policy import Policy
from services.l09_gateway.ratelimit import limit_headers
from services.l09_gateway.status_details import (
    DETAILS_HEADER,
    PERMISSION_DENIED,
    RATE_LIMITED,
    UNAUTHENTICATED,
    details_value,
)

log = get_logger("l09.authz")

_OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD

# How long Envoy may reuse an API key's allow for the same RPC (see the module docstring).
VOUCH_SECONDS = 0.25


def _voucher(identity: Identity, tier: str) -> struct_pb2.Struct:
    voucher = struct_pb2.Struct()
    voucher.update(
        {
            VOUCH_MS_KEY: VOUCH_SECONDS * 1000,
            VOUCH_PRINCIPAL_KEY: identity.principal,
            VOUCH_ROLES_KEY: ",".join(identity.roles),
            VOUCH_TIER_KEY: tier,
            VOUCH_TENANT_KEY: identity.tenant,
        }
    )
    return voucher


def _over_limit(decision: Decision, grpc_caller: bool) -> pb.CheckResponse:
    extra = [("retry-after", str(decision.wait_seconds)), *limit_headers(decision)]
    if grpc_caller:
        # Envoy would turn a 429 into UNAVAILABLE; a grpc-status it is handed wins.
        extra.append(("grpc-status", str(code_pb2.RESOURCE_EXHAUSTED)))
    return _denied(429, code_pb2.RESOURCE_EXHAUSTED, RATE_LIMITED, decision.message, extra)


def _header(key: str, value: str) -> base_pb2.HeaderValueOption:
    return base_pb2.HeaderValueOption(
        header=base_pb2.HeaderValue(key=key, value=value), append_action=_OVERWRITE
    )


def _denied(
    http_status: int,
    code: int,
    reason: str,
    message: str,
    extra: list[tuple[str, str]] | None = None,
) -> pb.CheckResponse:
    """The body is the message: Envoy wraps it into the E9401/E9403/E9001 JSON for REST
    clients and into grpc-message for gRPC clients, who find the code in the status details."""
    headers = [
        _header("content-type", "text/plain"),
        _header(DETAILS_HEADER, details_value(code, message, reason)),
        *(_header(key, value) for key, value in extra or ()),
    ]
    if http_status == 401:
        headers.append(_header("www-authenticate", 'Bearer realm="agentic"'))
    return pb.CheckResponse(
        status=status_pb2.Status(code=code, message=message),
        denied_response=pb.DeniedHttpResponse(
            status=http_status_pb2.HttpStatus(code=http_status), headers=headers, body=message
        ),
    )


def _is_grpc(path: str, headers: dict[str, str]) -> bool:
    """A native gRPC call: a transcoded REST call names its original path, and the
    compatible APIs are HTTP."""
    return ORIGINAL_PATH_HEADER not in headers and not is_compat_path(path)


def _caller_credential(headers: dict[str, str]) -> str:
    """The credential the caller was admitted with, as an authorization header value."""
    return headers.get("authorization") or f"Bearer {headers.get('x-api-key', '').strip()}"


class AuthorizationServicer(pb_grpc.AuthorizationServicer):
    def __init__(
        self,
        authenticator: Authenticator,
        policy: Callable[[], Policy],
        service_token: str | None,
        limiter: RateLimiter,
    ) -> None:
        self._authenticator = authenticator
        self._policy = policy
        self._service_token = service_token
        self._limiter = limiter

    async def Check(
        self, request: pb.CheckRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckResponse:
        http = request.attributes.request.http
        rpc = rpc_for_path(http.path)
        headers = dict(http.headers)
        try:
            identity = await self._authenticator.identify(headers)
        except Unauthenticated as error:
            log.debug("authz.unauthenticated", rpc=rpc, reason=str(error))
            return _denied(401, code_pb2.UNAUTHENTICATED, UNAUTHENTICATED, str(error))
        policy = self._policy()
        if not policy.allows(identity.roles, rpc):
            roles = ",".join(identity.roles) or "none"
            log.debug("authz.denied", rpc=rpc, principal=identity.principal, roles=roles)
            return _denied(
                403,
                code_pb2.PERMISSION_DENIED,
                PERMISSION_DENIED,
                f"{identity.principal} (roles: {roles}) may not call {rpc}",
            )
        tier = policy.tier(identity.tier)
        decision = await self._limiter.check(tier, identity.principal, rpc)
        if not decision.allowed:
            return _over_limit(decision, grpc_caller=_is_grpc(http.path, headers))
        forwarded = [
            _header(PRINCIPAL_HEADER, identity.principal),
            _header(ROLES_HEADER, ",".join(identity.roles)),  # allowed: never empty
            _header(TENANT_HEADER, identity.tenant),
            _header(TIER_HEADER, tier.name),
            _header(RPC_HEADER, rpc),
        ]
        if rpc.startswith(CALLER_RPC_PREFIXES):
            forwarded.append(_header(CALLER_HEADER, _caller_credential(headers)))
        if self._service_token:
            forwarded.append(_header("authorization", f"Bearer {self._service_token}"))
        # Nothing to show for callers without limits, or while the counters are unreachable.
        counted = not (tier.unlimited or decision.store_down)
        shown = [_header(k, v) for k, v in limit_headers(decision)] if counted else []
        response = pb.CheckResponse(
            status=status_pb2.Status(code=code_pb2.OK),
            ok_response=pb.OkHttpResponse(
                headers=forwarded, headers_to_remove=["x-api-key"], response_headers_to_add=shown
            ),
        )
        if identity.kind == "api_key":
            response.dynamic_metadata.CopyFrom(_voucher(identity, tier.name))
        return response
