"""The OpenAI- and Anthropic-compatible HTTP APIs: thin mappings onto L04's ModelService.

Envoy authenticates and limits a call first (ext_authz or its identity filter, as the RPC the
path maps to, services/kit/compat_paths.py) and sends it to L04's HTTP port with the caller's
identity; the mapping then calls the ModelService's own methods in the process, so routing,
fallback, limits, budgets, caches and usage apply exactly as on L04's own contract.
"""
