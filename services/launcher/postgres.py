"""The embedded PostgreSQL cluster: system user, data directory, initdb, database.

PostgreSQL refuses to run as root. When the launcher is root, the cluster belongs to
a system user, every parent of the data directory and of the wheel's files must be
traversable by it (pytest's temp dirs are mode 700), and supervisord runs it as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from services.launcher.errors import ComponentFailed
from services.launcher.ports import LOOPBACK

SYSTEM_USER = "agentic-pg"
SUPERUSER = "agentic"
DATABASE = "agentic"
SHARED_BUFFERS = "512MB"
# sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
_MAX_SOCKET_PATH = 107


def ensure_system_user(name: str = SYSTEM_USER) -> str:
    """Creates the unprivileged user the cluster runs as (idempotent)."""
    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        pass
    result = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    try:  # a parallel launcher may have created it first
        pwd.getpwnam(name)
    except KeyError:
        raise ComponentFailed(
            "postgres", f"cannot create system user {name}", result.stderr
        ) from None
    return name


def _make_traversable(path: Path) -> None:
    """``chmod o+x`` on ``path`` and every parent: traverse only, nothing becomes listable."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _make_readable_tree(root: Path) -> None:
    """Directories o+rx, files o+r (and o+x where the owner may execute)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        paths = [Path(dirpath)] + [Path(dirpath, name) for name in filenames]
        for path in paths:
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            mode = stat.S_IMODE(st.st_mode)
            wanted = mode | stat.S_IROTH
            if stat.S_ISDIR(st.st_mode) or mode & stat.S_IXUSR:
                wanted |= stat.S_IXOTH
            if wanted != mode:
                path.chmod(wanted)


@dataclass(frozen=True)
class PostgresCluster:
    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    port: int
    fsync: bool = True
    run_as: str | None = None  # system user when the launcher is root

    @classmethod
    def for_home(cls, bin_dir: Path, home: Path, port: int, *, fsync: bool) -> PostgresCluster:
        run_as = SYSTEM_USER if os.geteuid() == 0 else None
        return cls(bin_dir, home / "pgdata", home / "run" / "postgres", port, fsync, run_as)

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{DATABASE}"

    def command(self) -> list[str]:
        socket_file = self.socket_dir / f".s.PGSQL.{self.port}"
        # Too long a path for a unix socket (deep temp dirs): TCP only.
        socket_dir = str(self.socket_dir) if len(str(socket_file)) <= _MAX_SOCKET_PATH else ""
        command = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            LOOPBACK,
            "-p",
            str(self.port),
            "-k",
            socket_dir,
            # The default 128 MB is below one 100k x 384 HNSW index: k-NN p99 then
            # depends on the OS cache. Shared memory is only taken as it is used.
            "-c",
            f"shared_buffers={SHARED_BUFFERS}",
        ]
        if not self.fsync:
            for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
                command += ["-c", setting]
        return command

    def ensure_user(self) -> None:
        """The system user must exist before supervisord reads a ``user=`` naming it."""
        if self.run_as is not None:
            ensure_system_user(self.run_as)

    def prepare(self) -> None:
        """Permissions and directories, then initdb on first use."""
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.run_as is not None:
            entry = pwd.getpwnam(ensure_system_user(self.run_as))
            _make_traversable(self.data_dir.parent)
            _make_traversable(self.socket_dir.parent)
            _make_traversable(self.bin_dir.parent)
            _make_readable_tree(self.bin_dir.parent)
            for directory in (self.data_dir, self.socket_dir):
                os.chown(directory, entry.pw_uid, entry.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()

    def _initdb(self) -> None:
        # Leftovers of an interrupted initdb (no PG_VERSION) would make it refuse.
        for child in self.data_dir.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        result = subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                f"--pgdata={self.data_dir}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=False,
            capture_output=True,
            text=True,
            cwd=self.data_dir,
            # All three: with root's groups kept, a root-group dir's group bits (none)
            # would apply instead of the o+x given above.
            user=self.run_as,
            group=pwd.getpwnam(self.run_as).pw_gid if self.run_as else None,
            extra_groups=[] if self.run_as else None,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            raise ComponentFailed("postgres", "initdb failed", "\n".join(output[-20:]))

    def _psql(self, database: str, sql: str) -> str:
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                f"--host={LOOPBACK}",
                f"--port={self.port}",
                f"--username={SUPERUSER}",
                f"--dbname={database}",
                "--no-psqlrc",
                "--quiet",
                "--tuples-only",
                "--no-align",
                "--set=ON_ERROR_STOP=1",
                f"--command={sql}",
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ComponentFailed("postgres", f"{sql!r} failed", result.stderr.strip())
        return result.stdout.strip()

    def ensure_database(self) -> None:
        """Creates the platform database once, with pgvector (L01's migrations need it)."""
        exists = self._psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if exists != "1":
            self._psql("postgres", f"CREATE DATABASE {DATABASE}")
            self._psql(DATABASE, "CREATE EXTENSION IF NOT EXISTS vector")
