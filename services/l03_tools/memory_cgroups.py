"""A memory cgroup per execution: the memory of the whole process tree the sandboxed code
starts, where RLIMIT_AS limits each process alone, and tells afterwards whether the kernel
killed a process of it for the limit.

cgroup v1 (``memory`` hierarchy), nested under this process's own memory cgroup, so an
execution stays inside whatever limit the platform itself runs under. Where it is not
writable (or the machine has cgroup v2 only), executions keep RLIMIT_AS alone.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import structlog

from services.l03_tools.cgroups import PARENT_NAME, counter, remove_abandoned, remove_cgroup

log = structlog.get_logger("l03.memory_cgroups")

HIERARCHY = Path("/sys/fs/cgroup/memory")


def _own_cgroup() -> Path | None:
    """This process's directory in the v1 memory hierarchy."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                return HIERARCHY / path.lstrip("/")
    return None


class MemoryCgroups:
    """Creates, watches and removes one memory cgroup per execution."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent

    @classmethod
    def find(cls) -> MemoryCgroups | None:
        own = _own_cgroup()
        if own is None or not os.access(own, os.W_OK):
            return None
        candidate = cls(own / PARENT_NAME)
        try:
            candidate.parent.mkdir(exist_ok=True)
            if not (candidate.parent / "memory.limit_in_bytes").exists():
                return None
            remove_abandoned(candidate.parent)
        except OSError as exc:
            log.info("memory_cgroups.unusable", parent=str(candidate.parent), reason=str(exc))
            return None
        return candidate

    def create(self, name: str) -> Path:
        path = self.parent / name
        path.mkdir()
        return path

    @staticmethod
    def set_limit(path: Path, limit_bytes: int) -> None:
        """The tree's memory, swap included where the kernel counts it (so the limit cannot
        be dodged by swapping)."""
        (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
        swap = path / "memory.memsw.limit_in_bytes"
        with contextlib.suppress(OSError):
            if swap.exists():
                swap.write_text(str(limit_bytes))

    @staticmethod
    def oom_killed(path: Path) -> bool:
        """True once the kernel killed a process of the cgroup for its limit."""
        return counter(path / "memory.oom_control", "oom_kill") > 0

    async def remove(self, path: Path) -> None:
        """Removes the cgroup once its processes are gone (the pids cgroup's removal kills
        them)."""
        await remove_cgroup(path)
