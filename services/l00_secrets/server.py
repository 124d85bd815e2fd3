"""SecretService servicer: maps RPCs to the secret manager, and back. Values never reach a
log line or an error message from here."""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf import timestamp_pb2

from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from services.kit import TokenAuthenticator, current_principal
from services.kit.auth import PRINCIPAL_HEADER
from services.kit.secrets import LAYER_HEADER
from services.l00_secrets import validation
from services.l00_secrets.records import AccessPolicy, Caller, SecretRecord, State, Version
from services.l00_secrets.secret_manager import SecretManager

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SecretService"].full_name
MAX_PAGE_SIZE = 1000

_STATES = {
    State.ENABLED: pb.VERSION_STATE_ENABLED,
    State.DISABLED: pb.VERSION_STATE_DISABLED,
    State.DESTROYED: pb.VERSION_STATE_DESTROYED,
}


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def to_version(version: Version) -> pb.SecretVersion:
    message = pb.SecretVersion(
        version=version.number,
        state=_STATES[version.state],
        create_time=_timestamp(version.create_time),
    )
    if version.destroy_time:
        message.destroy_time.CopyFrom(_timestamp(version.destroy_time))
    return message


def to_secret(record: SecretRecord) -> pb.Secret:
    return pb.Secret(
        name=record.name,
        labels=record.labels,
        access_policy=pb.AccessPolicy(**record.policy.to_dict()),
        versions=[to_version(v) for v in record.versions],
        create_time=_timestamp(record.create_time),
        update_time=_timestamp(record.update_time),
    )


def from_policy(message: pb.AccessPolicy) -> AccessPolicy:
    return validation.policy(
        AccessPolicy(tuple(message.principals), tuple(message.layers), tuple(message.managers))
    )


class SecretServicer(pb_grpc.SecretServiceServicer):
    def __init__(self, manager: SecretManager, authenticator: TokenAuthenticator) -> None:
        self._manager = manager
        self._auth = authenticator

    def _caller(self, context: grpc.aio.ServicerContext) -> Caller:
        """A layer is trusted to name itself only on a service-token call that names no
        caller: through the gateway, the caller is always named (and a client's own headers
        of that name are removed)."""
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        layer = metadata.get(LAYER_HEADER)
        if layer and PRINCIPAL_HEADER not in metadata:
            if self._auth.is_service(metadata.get("authorization")):
                return Caller(f"layer:{layer}", layer)
        return Caller(current_principal.get())

    async def CreateSecret(
        self, request: pb.CreateSecretRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSecretResponse:
        record = await self._manager.create(
            self._caller(context),
            validation.secret_name(request.name),
            validation.labels(dict(request.labels)),
            from_policy(request.access_policy),
        )
        return pb.CreateSecretResponse(secret=to_secret(record))

    async def GetSecret(
        self, request: pb.GetSecretRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSecretResponse:
        name = validation.secret_name(request.name)
        return pb.GetSecretResponse(
            secret=to_secret(await self._manager.get(self._caller(context), name))
        )

    async def ListSecrets(
        self, request: pb.ListSecretsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSecretsResponse:
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            raise validation.invalid("page_size", f"0-{MAX_PAGE_SIZE}")
        records, token = await self._manager.list(
            self._caller(context), request.page_size or 100, request.page_token
        )
        return pb.ListSecretsResponse(
            secrets=[to_secret(r) for r in records], next_page_token=token
        )

    async def DeleteSecret(
        self, request: pb.DeleteSecretRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteSecretResponse:
        name = validation.secret_name(request.name)
        deleted = await self._manager.delete(self._caller(context), name)
        return pb.DeleteSecretResponse(versions_deleted=deleted)

    async def SetAccessPolicy(
        self, request: pb.SetAccessPolicyRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetAccessPolicyResponse:
        name = validation.secret_name(request.name)
        if not request.HasField("access_policy"):
            raise validation.invalid("access_policy", "required")
        record = await self._manager.set_policy(
            self._caller(context), name, from_policy(request.access_policy)
        )
        return pb.SetAccessPolicyResponse(secret=to_secret(record))

    async def AddSecretVersion(
        self, request: pb.AddSecretVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddSecretVersionResponse:
        name = validation.secret_name(request.name)
        kind = request.WhichOneof("payload")
        if kind is None:
            raise validation.invalid("value", "required (value or binary_value)")
        binary = kind == "binary_value"
        value = request.binary_value if binary else request.value.encode()
        version = await self._manager.add_version(
            self._caller(context), name, validation.secret_value(value), binary
        )
        return pb.AddSecretVersionResponse(version=to_version(version))

    async def AccessSecretVersion(
        self, request: pb.AccessSecretVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.AccessSecretVersionResponse:
        name = validation.secret_name(request.name)
        number = validation.version_spec(request.version)
        accessed = await self._manager.access(self._caller(context), name, number)
        reply = pb.AccessSecretVersionResponse(name=accessed.name, version=accessed.version)
        if accessed.binary:
            reply.binary_value = accessed.value
        else:
            reply.value = accessed.value.decode()
        return reply

    async def _set_state(
        self, name: str, version: str, target: State, context: grpc.aio.ServicerContext
    ) -> pb.SecretVersion:
        number = validation.version_number(version)
        changed = await self._manager.set_state(
            self._caller(context), validation.secret_name(name), number, target
        )
        return to_version(changed)

    async def DisableSecretVersion(
        self, request: pb.DisableSecretVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DisableSecretVersionResponse:
        version = await self._set_state(request.name, request.version, State.DISABLED, context)
        return pb.DisableSecretVersionResponse(version=version)

    async def EnableSecretVersion(
        self, request: pb.EnableSecretVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnableSecretVersionResponse:
        version = await self._set_state(request.name, request.version, State.ENABLED, context)
        return pb.EnableSecretVersionResponse(version=version)

    async def DestroySecretVersion(
        self, request: pb.DestroySecretVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DestroySecretVersionResponse:
        version = await self._set_state(request.name, request.version, State.DESTROYED, context)
        return pb.DestroySecretVersionResponse(version=version)

    async def RotateMasterKey(
        self, request: pb.RotateMasterKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateMasterKeyResponse:
        current, rewrapped = await self._manager.rotate_master_key(self._caller(context))
        return pb.RotateMasterKeyResponse(current_key_id=current, rewrapped=rewrapped)
