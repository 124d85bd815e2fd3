"""L00 with ``L00_BACKEND=vault``: values in Vault's KV v2 engine, policy, states and audit
still L00's.

Runs against ``tests/l00/vault_standin.py``, a stand-in speaking Vault's KV v2 HTTP API, not a
real Vault: no Vault or OpenBao server can be installed on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
import pytest

from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from services.kit import open_channel
from services.launcher import probes
from services.launcher.components import PROJECT_ROOT
from services.launcher.ports import free_port
from tests.conftest import RunningMesh
from tests.l00.support import secret_name
from tests.l00.vault_standin import VaultStandIn
from tests.support import DEV_TOKEN, platform_code

pytestmark = [pytest.mark.integration, pytest.mark.l00]

VAULT_TOKEN = "standin-root-token"


@dataclass
class VaultBackedL00:
    vault: VaultStandIn
    target: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def vault_l00(mesh: RunningMesh) -> Iterator[VaultBackedL00]:
    """A second L00 process, on the mesh's L01, keeping values in the stand-in."""
    port = free_port()
    service_token = (mesh.settings.home / "service_token").read_text().strip()
    with VaultStandIn(VAULT_TOKEN) as vault:
        env = {
            **os.environ,
            "PYTHONPATH": f"{PROJECT_ROOT / 'gen'}:{PROJECT_ROOT}",
            "L00_PORT": str(port),
            "L00_BACKEND": "vault",
            "L00_VAULT_URL": vault.url,
            "L00_VAULT_TOKEN": VAULT_TOKEN,
            "AGENTIC_L01_TARGET": mesh.l01_target,
            "AGENTIC_SERVICE_TOKEN": service_token,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "services.l00_secrets"], env=env, cwd=PROJECT_ROOT
        )
        try:
            for _ in range(600):
                if probes.grpc_serving(port) is None:
                    break
                assert process.poll() is None, "L00 (vault) exited"
                time.sleep(0.05)
            yield VaultBackedL00(vault, f"127.0.0.1:{port}", process)
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
async def stub(vault_l00: VaultBackedL00) -> AsyncIterator[pb_grpc.SecretServiceStub]:
    async with open_channel(vault_l00.target, token=DEV_TOKEN) as channel:
        yield pb_grpc.SecretServiceStub(channel)


async def test_values_live_in_vault_and_versions_follow_it(
    vault_l00: VaultBackedL00, stub: pb_grpc.SecretServiceStub
) -> None:
    name = secret_name("vault")
    await stub.CreateSecret(pb.CreateSecretRequest(name=name))
    for value in ("vault-one", "vault-two"):
        await stub.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value=value))
    latest = await stub.AccessSecretVersion(
        pb.AccessSecretVersionRequest(name=name, version="latest")
    )
    first = await stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="1"))
    assert (latest.version, latest.value, first.value) == (2, "vault-two", "vault-one")

    (path,) = [p for p in vault_l00.vault.store.paths if name in p]
    stored = vault_l00.vault.store.paths[path]
    assert [bytes.fromhex(v.data["value"]) for v in stored] == [b"vault-one", b"vault-two"]

    await stub.DestroySecretVersion(pb.DestroySecretVersionRequest(name=name, version="1"))
    assert stored[0].destroyed and stored[0].data == {}
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="1"))
    assert platform_code(gone.value) == "E0008"


async def test_vault_refusing_the_token_is_unavailable_not_a_500(
    vault_l00: VaultBackedL00, stub: pb_grpc.SecretServiceStub
) -> None:
    name = secret_name("vault")
    await stub.CreateSecret(pb.CreateSecretRequest(name=name))
    vault_l00.vault.store.token = "rotated-elsewhere"
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value="secret-x"))
    finally:
        vault_l00.vault.store.token = VAULT_TOKEN
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert platform_code(refused.value) == "E0011"
    assert "secret-x" not in refused.value.details()
    secret = await stub.GetSecret(pb.GetSecretRequest(name=name))
    assert len(secret.secret.versions) == 0  # nothing half-added
