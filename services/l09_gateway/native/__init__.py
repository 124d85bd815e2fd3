"""The native JWT path: Envoy verifies JWTs (jwt_authn), applies the roles (rbac) and forwards
the caller (a Lua identity filter) without asking the L09 process per request.

The three filters' configurations depend on the process's settings (signing keys, issuer,
audience, the service token) and on policy.yaml, none of which the committed envoy.yaml can
hold: the process serves them to Envoy over ECDS and pushes a new version when the policy or
the keys change. envoy.yaml carries safe defaults (verify nothing, forward nothing), so every
call goes through ext_authz until the first configuration arrives.
"""
