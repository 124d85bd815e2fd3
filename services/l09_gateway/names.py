"""Names the Envoy configuration and the L09 Python services must agree on."""

from __future__ import annotations

from services.kit.auth import CALLER_AUTHORIZATION_HEADER
from services.kit.layers import caller_rpc_prefixes

# Envoy cluster of the L09 Python process's gRPC port (ext_authz, rate limit service and the
# discovery service for the native auth filters).
AUTHZ_CLUSTER = "l09_gateway_grpc"
# Envoy cluster of its HTTP port (/health, /openapi.json).
HTTP_CLUSTER = "l09_gateway_http"

RATELIMIT_DOMAIN = "agentic"

# Set by ext_authz or, for JWTs Envoy verified itself, by the identity filter on every allowed
# call; a client's own values are removed first.
PRINCIPAL_HEADER = "x-agentic-principal"
ROLES_HEADER = "x-agentic-roles"
# The caller's tenant: an API key's record, a JWT's "tenant" claim, else the principal.
TENANT_HEADER = "x-agentic-tenant"
TIER_HEADER = "x-agentic-tier"
RPC_HEADER = "x-agentic-rpc"
# Set by the identity filter for JWT callers on tiers with limits, unless a lease pays for the
# call: without it Envoy does not call the rate limit service (ext_authz limits the callers it
# admits itself).
METERED_TIER_HEADER = "x-agentic-metered-tier"
# Set by the identity filter (descriptor entry LEASE_DESCRIPTOR_KEY): RENEWAL on a call paid
# from a lease that asks the rate limit service for the next one before it runs out; NO_LEASE
# on a call sent while the worker waits for a lease (it takes its own token only).
LEASE_HEADER = "x-agentic-lease"
LEASE_DESCRIPTOR_KEY = "lease"
RENEWAL = "renew"
NO_LEASE = "none"
# On calls to a layer that acts for its caller (the NL layer): the caller's own credential.
CALLER_HEADER = CALLER_AUTHORIZATION_HEADER
CALLER_RPC_PREFIXES = caller_rpc_prefixes()
IDENTITY_HEADERS = (
    CALLER_HEADER,
    PRINCIPAL_HEADER,
    ROLES_HEADER,
    TENANT_HEADER,
    TIER_HEADER,
    RPC_HEADER,
    METERED_TIER_HEADER,
    LEASE_HEADER,
)

# Set by the JSON transcoder on a REST call: the path the client sent.
ORIGINAL_PATH_HEADER = "x-envoy-original-path"

# Where Envoy sends gRPC calls of methods no layer serves (the L09 process answers E9404):
# a path of no real service, so no client call can reach the services Envoy uses there.
UNKNOWN_METHOD_PATH = "/l09.gateway.UnknownMethod/Refuse"

# Routes that answer without credentials.
OPEN_PATHS = ("/health", "/openapi.json")

# HTTP filters that routes turn off (the open paths, native gRPC) besides those below.
CORS_FILTER = "envoy.filters.http.cors"
CONNECT_FILTER = "envoy.filters.http.connect_grpc_bridge"
# Marks a Connect call before the bridge makes it a gRPC call (for Connect-shaped refusals).
CONNECT_MARKER_FILTER = "l09.connect_marker"
CONNECT_MARKER_HEADER = "x-agentic-connect"
BUFFER_FILTER = "envoy.filters.http.buffer"
BODY_SIZE_LIMIT_FILTER = "envoy.filters.http.body_size_limit"
TRANSCODER_FILTER = "envoy.filters.http.grpc_json_transcoder"
# The REST guard (Lua, before the transcoder): 405s and strict JSON bodies.
REST_GUARD_FILTER = "l09.rest_guard"

# The native JWT path: filters whose configuration the L09 process serves over ECDS (the
# resource names are the filter names), in chain order.
JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn"
RBAC_FILTER = "envoy.filters.http.rbac"
IDENTITY_FILTER = "l09.jwt_identity"
NATIVE_AUTH_FILTERS = (JWT_AUTHN_FILTER, RBAC_FILTER, IDENTITY_FILTER)
JWT_PROVIDER = "l09"
# Dynamic metadata of jwt_authn (namespace: the filter name): the verified claims, or why
# the token was refused.
JWT_PAYLOAD_KEY = "jwt_payload"
JWT_FAILURE_KEY = "jwt_failure"
# Set by the identity filter once a verified JWT's caller is forwarded: ext_authz is skipped.
NATIVE_AUTH_NAMESPACE = "l09.native_auth"
NATIVE_PRINCIPAL_KEY = "principal"

# Leases of the rate limit service, spent by Envoy's workers (the identity filter): the
# service's answer carries the lease in the rate limit filter's dynamic metadata, under these
# keys; the identity filter keeps per-call notes in its own namespace.
RATELIMIT_FILTER = "envoy.filters.http.ratelimit"
LEASE_TOKENS_KEY = "lease"  # tokens beyond the call the answer was for
LEASE_TTL_KEY = "ttl_ms"  # how long they may be spent, from when the answer arrives
LEASE_REMAINING_KEY = "remaining"  # calls left, the lease included
LEASE_LIMIT_KEY = "limit"  # the x-ratelimit-limit header's value
LEASE_MOST_KEY = "most"  # what x-ratelimit-remaining never exceeds
LEASE_NAMESPACE = "l09.lease"

# ext_authz's allow for an API key, reused by the identity filter for the same key and RPC for a
# short while: the answer's dynamic metadata (namespace: the ext_authz filter) carries the
# caller under these keys; the identity filter notes the key and RPC in VOUCH_NAMESPACE.
EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz"
VOUCH_MS_KEY = "vouch_ms"
VOUCH_PRINCIPAL_KEY = "principal"
VOUCH_ROLES_KEY = "roles"
VOUCH_TIER_KEY = "tier"
VOUCH_TENANT_KEY = "tenant"
VOUCH_NAMESPACE = "l09.vouch"
