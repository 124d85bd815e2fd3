"""No value in clear at rest (database, its backups, the Redis mirror, the logs); master-key
rotation re-wraps data keys without touching values."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
import redis.asyncio as redis

from agentic.secrets.v1 import secrets_pb2 as pb
from agentic.secrets.v1 import secrets_pb2_grpc as pb_grpc
from services.launcher import backup, binaries
from tests.conftest import RunningMesh
from tests.l00.support import secret_name
from tests.support import platform_code

pytestmark = [pytest.mark.integration, pytest.mark.l00]


def _spellings(value: str) -> list[str]:
    """The value as text, as hex (bytea in a dump) and as base64 (a JSON bytes field)."""
    raw = value.encode()
    return [value, raw.hex(), base64.b64encode(raw).decode()]


def _database_as_sql(database_url: str, directory: Path) -> str:
    """A backup as `agentic backup` writes it, read back as SQL text."""
    dump_file = directory / "platform.backup"
    backup.dump(database_url, dump_file)
    restore = binaries.postgres_bin_dir() / "pg_restore"
    command = [str(restore), "--file=-", str(dump_file)]
    return subprocess.run(command, capture_output=True, check=True).stdout.decode()


async def _versions(database_url: str) -> dict[str, dict[str, str]]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT document_id, content::text AS content FROM documents "
            "WHERE collection = 'l00.secret_versions'"
        )
    finally:
        await connection.close()
    return {row["document_id"]: json.loads(row["content"]) for row in rows}


async def test_no_value_in_clear_in_the_database_a_backup_redis_or_the_logs(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel, tmp_path: Path
) -> None:
    stub = pb_grpc.SecretServiceStub(gateway_channel)
    name = secret_name()
    value = f"plaintext-canary-{uuid.uuid4().hex}"
    await stub.CreateSecret(pb.CreateSecretRequest(name=name))
    await stub.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value=value))
    read = await stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="1"))
    assert read.value == value

    sql = await asyncio.to_thread(_database_as_sql, mesh.database_url, tmp_path)
    assert "l00.secret_versions" in sql and name in sql  # the dump does hold the secret
    versions = await _versions(mesh.database_url)
    sealed = [v for v in versions.values() if v["secret"] == name]
    assert len(sealed) == 1 and sealed[0]["ciphertext"] in sql

    client = redis.Redis.from_url(mesh.redis_url)
    try:
        mirror = str(await client.xrange("events", "-", "+"))
    finally:
        await client.aclose()
    logs = "".join(mesh.mesh.log_tail(n, 100_000) for n in ("l00_secrets", "l01_data", "envoy"))
    for text in _spellings(value):
        assert text not in sql
        assert text not in mirror
        assert text not in logs


async def test_rotation_rewraps_data_keys_and_the_old_key_can_then_go(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel
) -> None:
    stub = pb_grpc.SecretServiceStub(gateway_channel)
    name = secret_name()
    await stub.CreateSecret(pb.CreateSecretRequest(name=name))
    await stub.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value="rotate-me"))
    keyring = mesh.settings.home / "secrets" / "master.keys"
    old_lines = keyring.read_text().strip().splitlines()
    old_id = old_lines[-1].split(":")[0]
    before = {k: v for k, v in (await _versions(mesh.database_url)).items() if v["secret"] == name}
    assert [v["key_id"] for v in before.values()] == [old_id]

    new_line = f"k{uuid.uuid4().hex[:8]}:{base64.b64encode(os.urandom(32)).decode()}"
    keyring.write_text("\n".join([*old_lines, new_line]) + "\n")
    rotated = await stub.RotateMasterKey(pb.RotateMasterKeyRequest(), timeout=120)
    new_id = new_line.split(":")[0]
    assert rotated.current_key_id == new_id
    assert rotated.rewrapped >= 1

    after = {k: v for k, v in (await _versions(mesh.database_url)).items() if v["secret"] == name}
    (document_id,) = after
    assert after[document_id]["key_id"] == new_id
    assert after[document_id]["ciphertext"] == before[document_id]["ciphertext"]
    assert after[document_id]["wrapped_key"] != before[document_id]["wrapped_key"]

    keyring.write_text(new_line + "\n")  # the old key is gone for good
    again = await stub.RotateMasterKey(pb.RotateMasterKeyRequest(), timeout=120)
    assert (again.current_key_id, again.rewrapped) == (new_id, 0)
    read = await stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="1"))
    assert read.value == "rotate-me"


async def test_a_malformed_keyring_is_refused_and_the_loaded_one_kept(
    mesh: RunningMesh, gateway_channel: grpc.aio.Channel
) -> None:
    stub = pb_grpc.SecretServiceStub(gateway_channel)
    keyring = mesh.settings.home / "secrets" / "master.keys"
    good = keyring.read_text()
    keyring.write_text("k1:not-base64!\n")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RotateMasterKey(pb.RotateMasterKeyRequest(), timeout=60)
        assert platform_code(refused.value) == "E0014"
        assert "line 1" in refused.value.details()
    finally:
        keyring.write_text(good)
    name = secret_name()
    await stub.CreateSecret(pb.CreateSecretRequest(name=name))
    await stub.AddSecretVersion(pb.AddSecretVersionRequest(name=name, value="still-works"))
    read = await stub.AccessSecretVersion(pb.AccessSecretVersionRequest(name=name, version="1"))
    assert read.value == "still-works"
