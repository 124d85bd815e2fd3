"""Starts L00: the value store the configuration names, the secret manager, the server."""

from __future__ import annotations

import asyncio
import functools

import hvac

from agentic.secrets.v1 import secrets_pb2_grpc
from services.kit import (
    GrpcServer,
    ServiceDefinition,
    TokenAuthenticator,
    configure_logging,
    get_logger,
    open_layer_channel,
    wait_for_termination,
)
from services.kit.auth import service_token_from_env
from services.l00_secrets import errors, keyring
from services.l00_secrets.config import SecretSettings
from services.l00_secrets.l01_storage import L01AuditLog, L01Documents
from services.l00_secrets.secret_manager import SecretManager
from services.l00_secrets.server import SERVICE_NAME, SecretServicer
from services.l00_secrets.storage import ValueStore
from services.l00_secrets.value_stores import EnvelopeValues, VaultValues

log = get_logger("l00")
DEV_L01_TOKEN = "dev_key_local_ONLY"  # accepted by L01 only while it has no production key


def build_values(settings: SecretSettings) -> ValueStore:
    if settings.backend == "vault":
        client = hvac.Client(
            url=settings.vault_url,
            token=settings.vault_token,
            timeout=settings.vault_timeout_seconds,  # type: ignore[arg-type]
        )
        return VaultValues(client, settings.vault_mount)
    load = functools.partial(keyring.load, settings.master_key, settings.master_key_file)
    return EnvelopeValues(load)


async def main() -> None:
    settings = SecretSettings()
    configure_logging("l00_secrets", settings.log_level, settings.log_format)
    values = build_values(settings)  # a missing or malformed keyring stops the start here
    l01_token = settings.l01_token or service_token_from_env() or DEV_L01_TOKEN
    l01 = open_layer_channel("l01", token=l01_token)
    manager = SecretManager(L01Documents(l01), L01AuditLog(l01), values)
    authenticator = TokenAuthenticator(settings.api_key)
    definition = ServiceDefinition(
        layer="l00_secrets",
        errors=errors.CATALOG,
        service_names=[SERVICE_NAME],
        registrars=[
            lambda s: secrets_pb2_grpc.add_SecretServiceServicer_to_server(
                SecretServicer(manager, authenticator), s
            )
        ],
        authenticator=authenticator,
    )
    log.info("secrets.backend", backend=settings.backend)
    async with GrpcServer(definition, settings):
        await wait_for_termination()
    await l01.close()


if __name__ == "__main__":
    asyncio.run(main())
