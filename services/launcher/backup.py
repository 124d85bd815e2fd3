"""``agentic backup`` / ``agentic restore``: the platform database to a file and back.

A backup is ``pg_dump``'s custom format of the whole database (events, streams,
snapshots, consumer groups, documents, vectors...), taken from one consistent
snapshot while the mesh keeps running. A restore replaces everything in the
database's ``public`` schema with the file's content in one transaction: if any
statement fails, the database is left as it was.

L01 keeps the log head and the outbox position in memory, so a restore into a
running mesh stops ``l01_data`` first and starts it again afterwards; it then
reads the restored head and checkpoint. The Redis mirror stream ``events`` is
deleted, because positions after the restored head will be handed out again.
Against an external ``DATABASE_URL`` with no mesh of this home running, stop
every L01 process yourself before restoring.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from services.launcher import binaries
from services.launcher.config import LauncherSettings
from services.launcher.errors import MeshError
from services.launcher.mesh import Mesh

L01 = "l01_data"
REDIS_MIRROR_STREAM = "events"
# Replaces, not merges: objects a newer schema added must not survive next to old data.
_RESET_SCHEMA = "DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"

Report = Callable[[str], None]


class BackupError(MeshError):
    """A dump or a restore failed; the message carries the tool's error output."""


@dataclass(frozen=True)
class DatabaseTarget:
    url: str
    embedded: bool


def database_target(settings: LauncherSettings, mesh: Mesh) -> DatabaseTarget:
    if settings.embedded_postgres and not mesh.is_running():
        raise MeshError(
            f"no mesh is running in {settings.home}: run `agentic up` first "
            "(or set DATABASE_URL to use an external database)"
        )
    return DatabaseTarget(settings.effective_database_url, settings.embedded_postgres)


def _run(command: list[str], what: str, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(command, input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()[-10:]
        raise BackupError(f"{what} failed: " + "\n".join(detail))
    return result.stdout


def dump(url: str, file: Path) -> None:
    """Writes the database at ``url`` to ``file`` (pg_dump's custom format)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(f".{file.name}.partial")
    pg_dump = binaries.postgres_bin_dir() / "pg_dump"
    _run(
        [str(pg_dump), "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={url}"],
        "pg_dump",
    )
    partial.replace(file)  # a failed or interrupted dump never looks like a backup


def load(url: str, file: Path) -> None:
    """Replaces the ``public`` schema of the database at ``url`` with ``file``'s content."""
    if not file.is_file():
        raise BackupError(f"{file} does not exist")
    bin_dir = binaries.postgres_bin_dir()
    script = _run(
        [str(bin_dir / "pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(file)],
        "reading the backup",
    )
    _run(
        [
            str(bin_dir / "psql"),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={url}",
            "--file=-",
        ],
        "restoring",
        stdin=_RESET_SCHEMA.encode() + script,
    )


def forget_redis_mirror(redis_url: str) -> bool:
    """Deletes the Redis mirror of the log; False if Redis was unreachable."""
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.delete(REDIS_MIRROR_STREAM)
        return True
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def backup(settings: LauncherSettings, file: Path) -> None:
    mesh = Mesh(settings)
    dump(database_target(settings, mesh).url, file)


def restore(settings: LauncherSettings, file: Path, report: Report = print) -> None:
    """Restores ``file``; a running L01 of this mesh is stopped meanwhile and restarted."""
    mesh = Mesh(settings)
    target = database_target(settings, mesh)
    l01_running = mesh.is_running() and any(s.name == L01 and s.running for s in mesh.status())
    if l01_running:
        report(f"stopping {L01} while the database is replaced")
        mesh.stop_component(L01)
    try:
        load(target.url, file)
        if not forget_redis_mirror(settings.effective_redis_url):
            report(f"Redis unreachable: delete its '{REDIS_MIRROR_STREAM}' stream yourself")
    finally:
        if l01_running:
            report(f"starting {L01}")
            mesh.start_component(L01)
