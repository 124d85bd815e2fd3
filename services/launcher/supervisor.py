"""supervisord for one mesh: its config, its process, and its XML-RPC API on a unix socket."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport, UnixStreamHTTPConnection

from services.launcher.errors import MeshError

_MAX_SOCKET_PATH = 107
RPC_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Program:
    """One ``[program:x]`` section. Programs never autostart: the launcher starts them
    in dependency order and waits for each to be ready."""

    name: str
    command: Sequence[str]
    log_file: Path
    directory: Path
    priority: int
    environment: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    stopsignal: str = "TERM"
    stopwaitsecs: int = 10


def _conf_value(text: str, what: str) -> str:
    """Escapes ``%`` (supervisord expands ``%(name)s``) and refuses what its ini parser
    would cut short (newlines, inline `` ;``/`` #`` comments)."""
    if "\n" in text or " ;" in text or " #" in text:
        raise MeshError(f"{what} contains a newline, ' ;' or ' #', which supervisord cannot read")
    return text.replace("%", "%%")


def _environment(env: Mapping[str, str], program: str) -> str:
    pairs = []
    for key, value in env.items():
        quote = '"' if '"' not in value else "'"
        if quote in value:
            raise MeshError(f"{program}: {key} contains both quote characters")
        pairs.append(f"{key}={quote}{_conf_value(value, f'{program}: {key}')}{quote}")
    return ",".join(pairs)


class _UnixConnection(UnixStreamHTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(RPC_TIMEOUT_SECONDS)


class _Transport(SupervisorTransport):
    """supervisor's transport, with a timeout so a wedged supervisord cannot hang us."""

    def __init__(self, socket_path: Path) -> None:
        super().__init__(serverurl=f"unix://{socket_path}")

        def connection() -> _UnixConnection:
            conn = _UnixConnection("localhost")
            conn.socketfile = str(socket_path)
            return conn

        self._get_connection = connection


def _pid_alive(pid: int) -> bool:
    """True for a live process; zombies count as dead (orphans may not be reaped here)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


class Supervisor:
    """The supervisord of the mesh living in ``home``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.conf_path = home / "supervisord.conf"
        self.pid_path = home / "supervisord.pid"
        self.log_dir = home / "logs"
        self.log_path = self.log_dir / "supervisord.log"
        self.socket_path = self._socket_path(home)
        self._process: subprocess.Popen[bytes] | None = None
        self._proxy: Any = None

    @staticmethod
    def _socket_path(home: Path) -> Path:
        path = home / "supervisor.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        # Unix socket paths are short; deep homes get a stable name in the temp dir.
        digest = hashlib.sha256(str(home).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"agentic-{digest}.sock"

    def render_conf(self, programs: Sequence[Program]) -> str:
        lines = [
            "; Written by the agentic launcher for this mesh; rewritten on each start.",
            "[unix_http_server]",
            f"file={_conf_value(str(self.socket_path), 'socket path')}",
            "chmod=0700",
            "",
            "[supervisord]",
            "nodaemon=true",
            # Its log goes to logfile only; supervisord.out keeps what it prints on a crash.
            "silent=true",
            f"logfile={_conf_value(str(self.log_path), 'log path')}",
            "logfile_maxbytes=5MB",
            "logfile_backups=2",
            f"pidfile={_conf_value(str(self.pid_path), 'pid path')}",
            f"childlogdir={_conf_value(str(self.log_dir), 'log dir')}",
            f"directory={_conf_value(str(self.home), 'home')}",
            "identifier=agentic",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{_conf_value(str(self.socket_path), 'socket path')}",
        ]
        for program in programs:
            lines += [
                "",
                f"[program:{program.name}]",
                f"command={_conf_value(shlex.join(program.command), program.name)}",
                f"directory={_conf_value(str(program.directory), program.name)}",
                f"priority={program.priority}",
                "autostart=false",
                # A crash after a successful start (up for startsecs) is restarted.
                "autorestart=true",
                "startsecs=1",
                "startretries=3",
                f"stopsignal={program.stopsignal}",
                f"stopwaitsecs={program.stopwaitsecs}",
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={_conf_value(str(program.log_file), program.name)}",
                "stdout_logfile_maxbytes=10MB",
                "stdout_logfile_backups=2",
            ]
            if program.user:
                lines.append(f"user={program.user}")
            if program.environment:
                lines.append(f"environment={_environment(program.environment, program.name)}")
        return "\n".join(lines) + "\n"

    # -- the supervisord process ---------------------------------------------------------

    @property
    def rpc(self) -> Any:
        if self._proxy is None:
            self._proxy = xmlrpc.client.ServerProxy(
                "http://localhost", transport=_Transport(self.socket_path)
            )
        return self._proxy

    def _reset_rpc(self) -> None:
        self._proxy = None

    def is_running(self) -> bool:
        """True if this home's supervisord answers on its socket."""
        if not self.socket_path.exists():
            return False
        try:
            return bool(self.rpc.supervisor.getState()["statename"] == "RUNNING")
        except (OSError, xmlrpc.client.Error):
            self._reset_rpc()
            return False

    def running_conf(self) -> str | None:
        return self.conf_path.read_text() if self.conf_path.exists() else None

    def start(self, conf: str, env: Mapping[str, str], timeout: float = 15.0) -> None:
        """Writes the config and starts supervisord in its own session, so Ctrl-C in the
        launcher's terminal reaches the launcher (which stops the mesh in order) only.
        ``env`` is what every program inherits, before its own ``environment=``."""
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.conf_path.write_text(conf)
        self.conf_path.chmod(0o600)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # stale: is_running() said nobody answers on it
        out = (self.log_dir / "supervisord.out").open("ab")
        with out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                env=dict(env),
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise MeshError(
                    f"supervisord exited with code {self._process.returncode}; "
                    f"see {self.log_dir / 'supervisord.out'}"
                )
            if self.is_running():
                return
            time.sleep(0.05)
        raise MeshError(f"supervisord did not answer on {self.socket_path} within {timeout:.0f}s")

    def _pid(self) -> int | None:
        if self._process is not None:
            return self._process.pid
        try:
            return int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _exited(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is not None
        return not _pid_alive(pid)

    def shutdown(self, timeout: float = 60.0) -> bool:
        """Stops every program (in reverse priority) and supervisord. False if none ran."""
        pid = self._pid()
        if self.is_running():
            with contextlib.suppress(OSError, xmlrpc.client.Error):
                self.rpc.supervisor.shutdown()
        elif pid is None or self._exited(pid) or not self._is_our_supervisord(pid):
            self._cleanup_files()
            return False
        else:  # alive but not answering: ask it by signal
            os.kill(pid, signal.SIGTERM)
        self._reset_rpc()
        deadline = time.monotonic() + timeout
        while pid is not None and not self._exited(pid):
            if time.monotonic() > deadline:
                raise MeshError(f"supervisord (pid {pid}) did not stop within {timeout:.0f}s")
            time.sleep(0.05)
        self._process = None
        self._cleanup_files()
        return True

    def _is_our_supervisord(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.conf_path).encode() in cmdline

    def _cleanup_files(self) -> None:
        for path in (self.socket_path, self.pid_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- programs -------------------------------------------------------------------------

    def info(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.rpc.supervisor.getProcessInfo(name))
        except xmlrpc.client.Fault:
            return None

    def all_info(self) -> dict[str, dict[str, Any]]:
        return {info["name"]: dict(info) for info in self.rpc.supervisor.getAllProcessInfo()}

    def start_program(self, name: str) -> None:
        """Starts without waiting: readiness is the launcher's own probe, not startsecs."""
        try:
            self.rpc.supervisor.startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                message = f"{name}: supervisord refused to start it: {fault.faultString}"
                raise MeshError(message) from None

    def stop_programs(self, names: Sequence[str], timeout: float) -> None:
        """Signals all of them at once, then waits until none is running."""
        for name in names:
            with contextlib.suppress(xmlrpc.client.Fault):  # NOT_RUNNING
                self.rpc.supervisor.stopProcess(name, False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = {n: i["statename"] for n, i in self.all_info().items()}
            if not any(states.get(n) in ("RUNNING", "STARTING", "STOPPING") for n in names):
                return
            time.sleep(0.05)
        raise MeshError(f"{', '.join(names)} did not stop within {timeout:.0f}s")

    def stop_program(self, name: str) -> None:
        try:
            self.rpc.supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                message = f"{name}: supervisord could not stop it: {fault.faultString}"
                raise MeshError(message) from None
