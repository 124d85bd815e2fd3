"""Builds the native auth filters' configurations from the settings, the policy and the
keys, and keeps the discovery service's copy current (checked every ``interval`` seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from envoy.extensions.filters.http.jwt_authn.v3 import config_pb2 as jwt_authn_pb2
from envoy.extensions.filters.http.lua.v3 import lua_pb2
from envoy.extensions.filters.http.rbac.v3 import rbac_pb2
from google.protobuf import any_pb2, json_format

from services.kit import get_logger
from services.l09_gateway.names import IDENTITY_FILTER, JWT_AUTHN_FILTER, RBAC_FILTER
from services.l09_gateway.native import identity, jwt_authn, rbac
from services.l09_gateway.native.discovery import ExtensionConfigs
from services.l09_gateway.native.keys import SigningKeys
from services.l09_gateway.policy import Policy

log = get_logger("l09.native")

_MESSAGES = {
    jwt_authn.JWT_AUTHN_TYPE: jwt_authn_pb2.JwtAuthentication,
    rbac.RBAC_TYPE: rbac_pb2.RBAC,
    identity.LUA_TYPE: lua_pb2.Lua,
}


def packed(config: dict[str, Any]) -> any_pb2.Any:
    """A filter configuration as written for envoy.yaml (with ``@type``) as a packed Any."""
    fields = dict(config)
    type_name = fields.pop("@type").removeprefix("type.googleapis.com/")
    message = json_format.ParseDict(fields, _MESSAGES[type_name]())
    result = any_pb2.Any()
    result.Pack(message, deterministic=True)
    return result


class NativeAuth:
    def __init__(
        self,
        configs: ExtensionConfigs,
        keys: SigningKeys,
        policy: Callable[[], Policy],
        service_token: str,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        leeway_seconds: float = 0.0,
        development: bool = False,
    ) -> None:
        self._configs = configs
        self._development = development  # the dev tokens are forwarded natively
        self._keys = keys
        self._policy = policy
        self._service_token = service_token
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._inputs: tuple[Policy, str | None] | None = None

    async def refresh(self) -> bool:
        """Rebuilds the configurations; True when they changed (a new version for Envoy)."""
        policy = self._policy()
        jwks = await self._keys.jwks()
        if self._inputs is not None and self._inputs[0] is policy and self._inputs[1] == jwks:
            return False  # the policy source hands out the same object until it reloads
        self._inputs = (policy, jwks)
        filters = {
            JWT_AUTHN_FILTER: jwt_authn.config(
                jwks, issuer=self._issuer, audience=self._audience, leeway_seconds=self._leeway
            ),
            RBAC_FILTER: rbac.config(policy),
            IDENTITY_FILTER: identity.config(self._service_token, policy, self._development),
        }
        changed = self._configs.update({name: packed(c) for name, c in filters.items()})
        if changed:
            log.info("native.configured", version=self._configs.version, jwt=jwks is not None)
        return changed

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # a bad edit must not stop later ones from applying
                log.exception("native.refresh_failed")
            await asyncio.sleep(interval)
