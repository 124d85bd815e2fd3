"""The OpenAI- and Anthropic-compatible HTTP APIs: thin mappings onto L04's ModelService.

Envoy authenticates and limits a call first (ext_authz, as the RPC the path maps to); the
L09 process then maps the body onto L04's own Generate/StreamGenerate/Embed/ListModels and
forwards the caller's identity, so routing, fallback, limits, budgets, caches and usage
apply exactly as on L04's own contract.
"""
