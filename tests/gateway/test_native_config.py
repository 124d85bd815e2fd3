"""The native JWT filters' configurations: what the L09 process builds and serves over ECDS."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from envoy.config.core.v3 import extension_pb2
from envoy.extensions.filters.http.lua.v3 import lua_pb2
from envoy.service.discovery.v3 import discovery_pb2
from envoy.service.extension.v3 import config_discovery_pb2_grpc as ecds_grpc
from google.protobuf import any_pb2, json_format
from google.rpc import status_pb2

from services.l09_gateway import descriptor
from services.l09_gateway.names import IDENTITY_FILTER, JWT_AUTHN_FILTER, RBAC_FILTER
from services.l09_gateway.native import identity, jwt_authn, rbac
from services.l09_gateway.native.configs import NativeAuth, packed
from services.l09_gateway.native.discovery import (
    TYPE_URL,
    ExtensionConfigs,
    ExtensionConfigServicer,
)
from services.l09_gateway.native.keys import SigningKeys, rsa_keys
from services.l09_gateway.policy import load, parse
from tests.support import envoy_validation, serve_json

pytestmark = [pytest.mark.unit, pytest.mark.l09]

POLICY = Path(__file__).resolve().parents[2] / "gateway" / "policy.yaml"
RPCS = [method.rpc for method in descriptor.load().methods] + [
    "agentic.data.v1.EventStoreService/ReadStreamX",
    "agentic.models.v1.Anything/Else",
    "other.v1.Service/GetThing",
]


def _allows(permission: dict[str, Any], rpc: str) -> bool:
    """What Envoy's RBAC does with one generated permission, for a request path."""
    if permission.get("any"):
        return True
    matcher = permission["url_path"]["path"]
    path = f"/{rpc}"
    if "exact" in matcher:
        return path == matcher["exact"]
    if "prefix" in matcher:
        return path.startswith(matcher["prefix"])
    return re.fullmatch(matcher["safe_regex"]["regex"], path, re.DOTALL) is not None


def test_the_rbac_rules_allow_exactly_what_the_policy_allows() -> None:
    policy = load(POLICY)
    policies = rbac.config(policy)["rules"]["policies"]
    for role in policy.patterns:
        permissions = policies[f"role:{role}"]["permissions"]
        for rpc in RPCS:
            native = any(_allows(permission, rpc) for permission in permissions)
            assert native == policy.allows([role], rpc), (role, rpc)


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("a.b/Get*", ["a.b/Get", "a.b/GetX"], ["a.bx/Get", "a.b/Lis"]),
        ("a.*/Get?", ["a.x.y/GetX"], ["a.x/Get", "a.x/GetXY"]),
        ("a/[GL]et", ["a/Get", "a/Let"], ["a/Set"]),
        ("a/[!G]et", ["a/Set"], ["a/Get"]),
        ("a/[x", ["a/[x"], ["a/x"]),
    ],
)
def test_globs_translate_like_fnmatch(pattern: str, matches: list[str], misses: list[str]) -> None:
    policy = parse(
        {"roles": {"r": {"allow": [pattern]}}, "tiers": {"standard": {"rate": 1, "burst": 1}}}
    )
    permission = rbac.rpc_permission(pattern)
    for rpc in matches + misses:
        assert _allows(permission, rpc) == policy.allows(["r"], rpc) == (rpc in matches), rpc


def test_without_a_policy_verified_jwts_are_refused_and_others_pass() -> None:
    policies = rbac.config(None)["rules"]["policies"]
    assert list(policies) == [rbac.UNVERIFIED_POLICY]


def test_jwt_authn_verifies_nothing_without_keys() -> None:
    config = jwt_authn.config(None)
    assert "providers" not in config and "rules" not in config


def test_jwt_authn_checks_what_the_settings_name() -> None:
    config = jwt_authn.config('{"keys": []}', issuer="i", audience="a", leeway_seconds=0)
    provider = config["providers"]["l09"]
    assert provider["issuer"] == "i" and provider["audiences"] == ["a"]
    assert provider["require_expiration"] and provider["forward"]
    # 0 would be jwt_authn's default of 60 s.
    assert provider["clock_skew_seconds"] == 1
    assert jwt_authn.clock_skew(2.5) == 3
    only_jwts = re.compile(jwt_authn.BEARER_JWT)
    assert only_jwts.fullmatch("Bearer eyJh.eyJz.c2ln")
    for other in ("Bearer agk_0123_secret", "Bearer dev_key_local_ONLY", "bearer a.b.c"):
        assert not only_jwts.fullmatch(other)


def test_lua_strings_escape_quotes_backslashes_and_control_characters() -> None:
    assert identity.lua_string('a"b\\c\n') == '"a\\"b\\\\c\\010"'


def test_the_dev_tokens_are_forwarded_natively_only_in_development() -> None:
    policy = load(POLICY)
    assert '["Bearer dev_key_local_ONLY"] = "dev"' in identity.source("t", policy, True)
    assert "dev_key_local_ONLY" not in identity.source("t", policy, False)
    # Development roles that may not call everything leave each call to ext_authz's check.
    document = yaml.safe_load(POLICY.read_text())
    document["development"]["roles"] = ["reader"]
    assert "dev_key_local_ONLY" not in identity.source("t", parse(document), True)


def test_the_served_configurations_are_accepted_by_envoy(tmp_path: Path) -> None:
    """Envoy compiles the Lua, the RE2 regexes and the JWKS when it loads them."""
    policy = load(POLICY)
    secret_jwks = json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"}]})
    filters = [
        (JWT_AUTHN_FILTER, jwt_authn.config(secret_jwks, issuer="i", audience="a")),
        (RBAC_FILTER, rbac.config(policy)),
        (IDENTITY_FILTER, identity.config('token "with" quotes', policy, development=True)),
    ]
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
        ".v3.HttpConnectionManager",
        "stat_prefix": "test",
        "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": []}]},
        "http_filters": [{"name": name, "typed_config": config} for name, config in filters]
        + [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            }
        ],
    }
    listener = {
        "name": "l",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": manager,
                    }
                ]
            }
        ],
    }
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump({"static_resources": {"listeners": [listener]}}))
    result = envoy_validation(path)
    assert result.returncode == 0, result.stdout + result.stderr


def _jwk(kid: str, **extra: str) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, **extra}


def test_only_rs256_signing_keys_are_kept_and_pinned() -> None:
    ec_key = json.loads(
        jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    )
    document = {
        "keys": [
            _jwk("plain"),
            _jwk("sig", use="sig", alg="RS256"),
            _jwk("enc", use="enc"),
            _jwk("rs512", alg="RS512"),
            ec_key,
        ]
    }
    kept = rsa_keys(document)
    assert [key["kid"] for key in kept] == ["plain", "sig"]
    assert all(key["alg"] == "RS256" for key in kept)


async def test_signing_keys_combine_the_secret_the_file_and_the_url(tmp_path: Path) -> None:
    served = {"keys": [_jwk("from-url")]}

    server = serve_json(json.dumps(served).encode())
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [_jwk("from-file")]}))
    keys = SigningKeys(
        hs256_secret="s3cret",
        jwks_file=jwks_file,
        jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json",
        refresh_seconds=3600,
    )
    try:
        document = json.loads(await keys.jwks() or "")
        assert [key.get("kid") for key in document["keys"]] == [None, "from-file", "from-url"]
        assert document["keys"][0] == {"kty": "oct", "k": "czNjcmV0", "alg": "HS256"}
        # A rotated file applies at once; the URL keeps its keys until it is fetched again.
        jwks_file.write_text(json.dumps({"keys": [_jwk("rotated"), _jwk("rotated-too")]}))
        served["keys"] = []
        kids = [key.get("kid") for key in json.loads(await keys.jwks() or "")["keys"]]
        assert kids == [None, "rotated", "rotated-too", "from-url"]
    finally:
        server.shutdown()
    assert await SigningKeys().jwks() is None


def test_packed_configurations_are_the_typed_messages() -> None:
    any_config = packed(identity.config(None, None))
    lua = lua_pb2.Lua()
    assert any_config.Unpack(lua)
    assert "envoy_on_request" in lua.default_source_code.inline_string


@pytest.fixture
async def ecds() -> AsyncIterator[
    tuple[ExtensionConfigs, ecds_grpc.ExtensionConfigDiscoveryServiceStub]
]:
    configs = ExtensionConfigs()
    server = grpc.aio.server()
    ecds_grpc.add_ExtensionConfigDiscoveryServiceServicer_to_server(
        ExtensionConfigServicer(configs), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield configs, ecds_grpc.ExtensionConfigDiscoveryServiceStub(channel)
    await server.stop(None)


def _lua(code: str) -> any_pb2.Any:
    return packed(
        {
            "@type": f"type.googleapis.com/{identity.LUA_TYPE}",
            "default_source_code": {"inline_string": code},
        }
    )


def _code(response: discovery_pb2.DiscoveryResponse) -> list[str]:
    codes = []
    for resource in response.resources:
        config = extension_pb2.TypedExtensionConfig()
        resource.Unpack(config)
        lua = lua_pb2.Lua()
        config.typed_config.Unpack(lua)
        codes.append(f"{config.name}={lua.default_source_code.inline_string}")
    return codes


async def test_the_discovery_service_sends_acks_nothing_and_pushes_changes(ecds) -> None:
    configs, stub = ecds
    configs.update({"f": _lua("one"), "g": _lua("other")})
    requests: asyncio.Queue[discovery_pb2.DiscoveryRequest | None] = asyncio.Queue()

    async def send():
        while (request := await requests.get()) is not None:
            yield request

    call = stub.StreamExtensionConfigs(send())
    requests.put_nowait(discovery_pb2.DiscoveryRequest(resource_names=["f"], type_url=TYPE_URL))
    first = await call.read()
    assert first.type_url == TYPE_URL and first.version_info == configs.version
    assert _code(first) == ["f=one"]
    # The ACK gets no answer; the next answer is the pushed change.
    requests.put_nowait(
        discovery_pb2.DiscoveryRequest(
            resource_names=["f"],
            version_info=first.version_info,
            response_nonce=first.nonce,
            type_url=TYPE_URL,
        )
    )
    assert not configs.update({"f": _lua("one"), "g": _lua("other")})  # the same: no version
    await asyncio.sleep(0.05)
    configs.update({"f": _lua("two"), "g": _lua("other")})
    second = await call.read()
    assert second.version_info == configs.version != first.version_info
    assert _code(second) == ["f=two"]
    assert second.nonce != first.nonce
    # A NACK is not answered with the same version again.
    requests.put_nowait(
        discovery_pb2.DiscoveryRequest(
            resource_names=["f"],
            version_info=first.version_info,
            response_nonce=second.nonce,
            type_url=TYPE_URL,
            error_detail=status_pb2.Status(code=3, message="bad"),
        )
    )
    configs.update({"f": _lua("three"), "g": _lua("other")})
    third = await call.read()
    assert third.version_info == configs.version and _code(third) == ["f=three"]
    requests.put_nowait(None)
    call.cancel()


async def test_native_auth_pushes_a_policy_change(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY.read_text())
    configs = ExtensionConfigs()
    policies = {"current": load(policy_file)}
    native = NativeAuth(
        configs, SigningKeys(hs256_secret="s"), lambda: policies["current"], "service-token"
    )
    assert await native.refresh()
    assert not await native.refresh()
    document = yaml.safe_load(policy_file.read_text())
    document["roles"]["auditor"] = {"allow": ["agentic.*/Get*"]}
    policies["current"] = parse(document)
    assert await native.refresh()
    rbac_any = configs.response(("envoy.filters.http.rbac",), "n").resources[0]
    config = extension_pb2.TypedExtensionConfig()
    rbac_any.Unpack(config)
    assert "role:auditor" in json_format.MessageToDict(config)["typedConfig"]["rules"]["policies"]
