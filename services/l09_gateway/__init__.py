"""L09 gateway, Python side: what Envoy asks external services for.

ext_authz (API keys, JWTs, RBAC) and the global rate limit service on one gRPC port;
``/health`` and ``/openapi.json`` on an HTTP port; and the renderer of ``gateway/envoy.yaml``
(:mod:`services.l09_gateway.render`).
"""
