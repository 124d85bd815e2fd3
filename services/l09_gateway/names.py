"""Names the Envoy configuration and the L09 Python services must agree on."""

from __future__ import annotations

# Envoy cluster of the L09 Python process's gRPC port (ext_authz and rate limit service).
AUTHZ_CLUSTER = "l09_gateway_grpc"
# Envoy cluster of its HTTP port (/health, /openapi.json).
HTTP_CLUSTER = "l09_gateway_http"

RATELIMIT_DOMAIN = "agentic"

# Set by ext_authz on every allowed call; a client's own values are removed first.
PRINCIPAL_HEADER = "x-agentic-principal"
ROLES_HEADER = "x-agentic-roles"
TIER_HEADER = "x-agentic-tier"
RPC_HEADER = "x-agentic-rpc"
# Set only for tiers with limits: without it Envoy does not call the rate limit service.
METERED_TIER_HEADER = "x-agentic-metered-tier"
IDENTITY_HEADERS = (PRINCIPAL_HEADER, ROLES_HEADER, TIER_HEADER, RPC_HEADER, METERED_TIER_HEADER)

# Routes that answer without credentials.
OPEN_PATHS = ("/health", "/openapi.json")
