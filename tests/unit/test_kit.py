"""The service kit's error mapping, authentication and log-head waiting."""

import asyncio
import socket

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2

from services.kit import (
    DEV_TOKENS,
    ErrorCatalog,
    ErrorCode,
    Kind,
    PlatformError,
    TokenAuthenticator,
)
from services.kit.auth import (
    ADMIN_ROLE,
    PRINCIPAL_HEADER,
    ROLES_HEADER,
    TENANT_HEADER,
    Caller,
    caller_of,
)
from services.kit.errors import error_info, to_rpc_status
from services.kit.http_server import shared_socket
from services.kit.layers import layer_by_key
from services.l01_data.log.head import LogHead

pytestmark = [pytest.mark.unit, pytest.mark.kit]

CONFLICT = ErrorCode("E1005", Kind.CONFLICT, "conflict")


def test_platform_error_becomes_status_with_error_info_and_field() -> None:
    error = PlatformError(
        ErrorCode("E1002", Kind.INVALID_ARGUMENT, "bad"), "x: empty", field="x", metadata={"k": "v"}
    )
    status = to_rpc_status(error, "data.agentic")
    assert status.code == code_pb2.INVALID_ARGUMENT
    info = error_info(status)
    assert info is not None
    assert (info.reason, info.domain) == ("E1002", "data.agentic")
    assert info.metadata["field"] == "x" and info.metadata["k"] == "v"
    bad_request = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "x"


def test_every_kind_maps_to_its_grpc_status() -> None:
    for kind in Kind:
        status = to_rpc_status(PlatformError(ErrorCode("E1", kind, "t"), "m"), "d")
        assert status.code == kind.value.value[0]
    assert Kind.CONFLICT.value is grpc.StatusCode.ABORTED


def test_dev_tokens_work_without_a_production_key() -> None:
    auth = TokenAuthenticator(None)
    assert not auth.production
    for token, principal in DEV_TOKENS.items():
        assert auth.principal_for(f"Bearer {token}") == principal
    assert auth.principal_for("Bearer wrong") is None
    assert auth.principal_for(None) is None
    assert auth.principal_for("Basic dev_key_local_ONLY") is None
    assert auth.principal_for("Bearer ") is None


def test_a_production_key_disables_the_dev_tokens() -> None:
    auth = TokenAuthenticator("s3cret-key")
    assert auth.production
    assert auth.principal_for("Bearer s3cret-key") == "service"
    assert auth.principal_for("bearer s3cret-key") == "service"
    assert auth.principal_for("Bearer dev_key_local_ONLY") is None


async def test_log_head_wakes_waiters_when_it_moves() -> None:
    head = LogHead(5)
    assert await head.wait_beyond(4, timeout=0.01)
    waiter = asyncio.create_task(head.wait_beyond(5, timeout=5))
    await asyncio.sleep(0)
    head.advance(6)
    assert await waiter
    assert not await head.wait_beyond(6, timeout=0.01)
    head.advance(3)  # stale notifications never move it backwards
    assert head.position == 6


def test_a_catalog_gives_the_layers_domain_and_standard_codes() -> None:
    l01 = ErrorCatalog(layer_by_key("l01"))
    assert l01.domain == "data.agentic"
    assert (l01.internal.code, l01.internal.kind) == ("E1000", Kind.INTERNAL)
    assert (l01.unauthenticated.code, l01.unauthenticated.kind) == ("E1001", Kind.UNAUTHENTICATED)
    assert (l01.invalid_argument.code, l01.invalid_argument.kind) == (
        "E1002",
        Kind.INVALID_ARGUMENT,
    )
    l00 = ErrorCatalog(layer_by_key("l00"))
    assert [c.code for c in l00.codes] == ["E0000", "E0001", "E0002"]
    l14 = ErrorCatalog(layer_by_key("l14"))
    assert l14.code("E14999", Kind.NOT_FOUND, "last").code == "E14999"


@pytest.mark.parametrize("code", ["E2000", "E999", "E01003", "1003", "E10a3", "", "E1002"])
def test_a_catalog_refuses_codes_outside_its_range_malformed_or_taken(code: str) -> None:
    catalog = ErrorCatalog(layer_by_key("l01"))
    with pytest.raises(ValueError, match=code or "''"):
        catalog.code(code, Kind.NOT_FOUND, "t")


def test_a_catalogue_takes_the_standard_codes_its_contract_fixed_elsewhere() -> None:
    from services.kit.errors import ErrorCatalog
    from services.kit.layers import layer_by_key

    catalog = ErrorCatalog(layer_by_key("l03"), invalid_argument="E3003", unauthenticated="E3004")
    assert (catalog.internal.code, catalog.invalid_argument.code) == ("E3000", "E3003")
    assert catalog.unauthenticated.code == "E3004"
    with pytest.raises(ValueError, match="already"):
        catalog.code("E3003", Kind.NOT_FOUND, "taken")


def test_a_callers_headers_name_them_only_beside_the_service_token() -> None:
    auth = TokenAuthenticator("layer-key", service_token="mesh-token")
    named = {PRINCIPAL_HEADER: "alice", ROLES_HEADER: "reader,writer", TENANT_HEADER: "acme"}
    through_gateway = caller_of(auth, {"authorization": "Bearer mesh-token", **named})
    assert through_gateway == Caller("alice", "acme", ("reader", "writer"))
    own_key = caller_of(auth, {"authorization": "Bearer layer-key", **named})
    assert own_key == Caller("service", "service", (ADMIN_ROLE,))  # the headers are ignored
    for refused in ({}, {"authorization": "Bearer nope", **named}, named):
        assert caller_of(auth, refused) is None


def test_every_process_of_a_layer_binds_its_http_port() -> None:
    first = shared_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = shared_socket("127.0.0.1", port)
    try:
        assert second.getsockname()[1] == port
        assert first.proto == socket.IPPROTO_TCP  # what asyncio sets TCP_NODELAY by
    finally:
        first.close()
        second.close()
