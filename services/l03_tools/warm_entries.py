"""Sandbox entries started ahead of their work: each one already sits in its own fresh pids
(and memory) cgroup, waiting on a pipe for the limits and the command of the execution that
takes it.

Joining a cgroup v1 hierarchy waits for an RCU grace period (about 7 ms on this kind of
machine, measured in ``bench.tools``), and the shell's own start costs another one or two:
taken off the critical path, an execution starts with bwrap. cgroup v2's ``CLONE_INTO_CGROUP``
would avoid the wait altogether, but the pids controller is mounted as v1 here and Python's
subprocess cannot clone into a cgroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from services.l03_tools.cgroups import PidsCgroups
from services.l03_tools.memory_cgroups import MemoryCgroups

log = structlog.get_logger("l03.warm_entries")

ENTRY_SCRIPT = Path(__file__).with_name("sandbox_entry.sh")
# pids.max of a waiting entry's cgroup (the shell alone); the execution sets its own.
WAITING_PIDS = 1
PIPE_CAPACITY = 65536  # Linux's default pipe buffer


@dataclass
class Entry:
    """A started ``sandbox_entry.sh`` waiting for its work."""

    process: asyncio.subprocess.Process
    cgroup: Path | None
    memory_cgroup: Path | None
    work_fd: int  # this process's end of the work pipe (-1 once written or discarded)
    child_work_fd: int  # the entry's end, by its number in the entry

    async def start(self, limits: Sequence[str], command: Sequence[str]) -> None:
        """Hands the entry its limits and command; it becomes the command at once."""
        if any("\0" in word for word in command):
            self.discard()
            raise ValueError("embedded null byte")
        work = f"set -- {shlex.join([*limits, *command])}\n".encode()
        work_fd, self.work_fd = self.work_fd, -1
        if len(work) <= PIPE_CAPACITY:
            _write_and_close(work_fd, work)  # fits the pipe: never blocks
        else:  # blocks until the entry has read the rest
            await asyncio.to_thread(_write_and_close, work_fd, work)

    def discard(self) -> None:
        """Closes the work pipe unused: the entry exits without running anything."""
        if self.work_fd >= 0:
            os.close(self.work_fd)
            self.work_fd = -1


def _write_and_close(fd: int, data: bytes) -> None:
    with open(fd, "wb", closefd=True) as pipe:
        pipe.write(data)


async def start_entry(
    cgroups: PidsCgroups | None,
    memory_cgroups: MemoryCgroups | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | str = "/",
) -> Entry:
    """Starts one entry in fresh cgroups (where there are cgroups)."""
    name = uuid.uuid4().hex
    cgroup = cgroups.create(name, WAITING_PIDS) if cgroups else None
    memory_cgroup = memory_cgroups.create(name) if memory_cgroups else None
    read_fd, write_fd = os.pipe()
    os.set_inheritable(read_fd, True)
    try:
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            str(ENTRY_SCRIPT),
            str(cgroup / "cgroup.procs") if cgroup else "-",
            str(memory_cgroup / "cgroup.procs") if memory_cgroup else "-",
            str(read_fd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env or {},
            cwd=cwd,
            pass_fds=(read_fd,),
            # No user/group arguments here: they make Python fork() instead of vfork(), and
            # gRPC's fork handlers then crash the child now and then. setpriv drops to the
            # sandbox's user after the exec instead.
            start_new_session=True,
        )
    except BaseException:
        os.close(write_fd)
        if cgroup is not None and cgroups is not None:
            await cgroups.remove(cgroup)
        if memory_cgroup is not None and memory_cgroups is not None:
            await memory_cgroups.remove(memory_cgroup)
        raise
    finally:
        os.close(read_fd)
    return Entry(process, cgroup, memory_cgroup, write_fd, read_fd)


class WarmEntries:
    """Keeps ``size`` entries waiting; ``take`` hands one out (or starts one when none is
    left) and starts its replacement in the background."""

    def __init__(
        self, cgroups: PidsCgroups | None, memory_cgroups: MemoryCgroups | None, size: int
    ) -> None:
        self.cgroups = cgroups
        self.memory_cgroups = memory_cgroups
        self.size = size
        self._ready: deque[Entry] = deque()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    async def take(self) -> Entry:
        while self._ready:
            entry = self._ready.popleft()  # the oldest: surely in its cgroup by now
            self._refill()
            if entry.process.returncode is None:
                return entry
            await self._dispose(entry)  # died while waiting (killed from outside)
        self._refill()
        return await start_entry(self.cgroups, self.memory_cgroups)

    def _refill(self) -> None:
        while not self._closed and len(self._ready) + len(self._starting) < self.size:
            task = asyncio.create_task(self._start_one())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _start_one(self) -> None:
        try:
            entry = await start_entry(self.cgroups, self.memory_cgroups)
        except OSError as exc:
            log.warning("warm_entries.start_failed", error=str(exc))
            return
        if self._closed:
            await self._dispose(entry)
        else:
            self._ready.append(entry)

    async def close(self) -> None:
        """Ends every waiting entry and removes its cgroup."""
        self._closed = True
        for task in list(self._starting):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        ready, self._ready = self._ready, deque()
        for entry in ready:
            await self._dispose(entry)

    async def _dispose(self, entry: Entry) -> None:
        entry.discard()
        with contextlib.suppress(ProcessLookupError):
            entry.process.kill()
        await entry.process.wait()
        if entry.cgroup is not None and self.cgroups is not None:
            await self.cgroups.remove(entry.cgroup)
        if entry.memory_cgroup is not None and self.memory_cgroups is not None:
            await self.memory_cgroups.remove(entry.memory_cgroup)
