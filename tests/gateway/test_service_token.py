"""Layers trust the gateway's forwarded caller (principal, roles, tenant) only on calls carrying
the service token."""

from collections.abc import AsyncIterator

import grpc
import pytest

from services.kit import ErrorCode, Kind, TokenAuthenticator, open_channel
from services.kit.auth import current_caller
from services.kit.interceptors import BearerAuthInterceptor, CallContextInterceptor

pytestmark = [pytest.mark.unit, pytest.mark.kit, pytest.mark.l09]

SERVICE_TOKEN = "the-gateways-service-token"
WHO = "/test.Echo/Who"


async def _who(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    caller = current_caller()
    return f"{caller.principal}|{caller.tenant}|{','.join(caller.roles)}".encode()


@pytest.fixture
async def target() -> AsyncIterator[str]:
    unauthenticated = ErrorCode("E1001", Kind.UNAUTHENTICATED, "unauthenticated")
    internal = ErrorCode("E1000", Kind.INTERNAL, "internal")
    server = grpc.aio.server(
        interceptors=[
            CallContextInterceptor("test.agentic", internal),
            BearerAuthInterceptor(
                TokenAuthenticator(None, service_token=SERVICE_TOKEN), unauthenticated
            ),
        ]
    )
    handler = grpc.unary_unary_rpc_method_handler(_who)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("test.Echo", {"Who": handler})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


async def _call(target: str, token: str, **headers: str) -> str:
    async with open_channel(target, token=token) as channel:
        reply = await channel.unary_unary(WHO)(
            b"", metadata=[(k.replace("_", "-"), v) for k, v in headers.items()]
        )
    return reply.decode()


async def test_the_service_token_carries_the_forwarded_caller(target: str) -> None:
    who = await _call(
        target, SERVICE_TOKEN, x_agentic_principal="alice", x_agentic_roles="reader,writer"
    )
    assert who == "alice|alice|reader,writer", "the tenant is the principal's own by default"
    who = await _call(
        target, SERVICE_TOKEN, x_agentic_principal="bob", x_agentic_roles="model_user",
        x_agentic_tenant="acme",
    )  # fmt: skip
    assert who == "bob|acme|model_user"


async def test_a_layer_names_itself_on_its_channel(target: str) -> None:
    """open_channel(principal=...): a layer's own calls are recorded as its, with the service
    token; with any other token the name is ignored."""
    for token, who in (
        (SERVICE_TOKEN, "l04_models|l04_models|"),
        ("test_token_123", "test|test|admin"),
    ):
        async with open_channel(target, token=token, principal="l04_models") as channel:
            assert (await channel.unary_unary(WHO)(b"")).decode() == who


async def test_the_service_token_alone_is_the_gateway(target: str) -> None:
    assert await _call(target, SERVICE_TOKEN) == "gateway|gateway|"


async def test_other_callers_cannot_forge_a_caller(target: str) -> None:
    """A layer's own key is its operator's (admin in its own tenant): headers change nothing."""
    who = await _call(
        target, "dev_key_local_ONLY", x_agentic_principal="mallory", x_agentic_roles="reader",
        x_agentic_tenant="acme",
    )  # fmt: skip
    assert who == "dev|dev|admin"


async def test_a_wrong_service_token_is_refused(target: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(target, SERVICE_TOKEN + "x", x_agentic_principal="mallory")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_service_token_does_not_make_development_production() -> None:
    auth = TokenAuthenticator(None, service_token=SERVICE_TOKEN)
    assert not auth.production
    assert auth.principal_for("Bearer dev_key_local_ONLY") == "dev"
    production = TokenAuthenticator("prod-key", service_token=SERVICE_TOKEN)
    assert production.principal_for(f"Bearer {SERVICE_TOKEN}") == "gateway"
    assert production.principal_for("Bearer dev_key_local_ONLY") is None
