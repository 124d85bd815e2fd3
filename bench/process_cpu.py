"""CPU time each component of a benchmark mesh spends (Linux /proc): what a piece of work
costs every process on its path, a figure other load on the machine disturbs far less than
a rate."""

from __future__ import annotations

import os
from pathlib import Path

from services.launcher.config import LauncherSettings
from services.launcher.mesh import Mesh

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    """User and system CPU of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def _children(pid: int) -> list[int]:
    """PostgreSQL's backends and helpers are children of its postmaster."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def component_cpu(settings: LauncherSettings) -> dict[str, float]:
    """CPU seconds so far of each running component, its child processes included."""
    seconds = {}
    for component in Mesh(settings).status():
        if component.pid:
            pids = [component.pid, *_children(component.pid)]
            seconds[component.name] = sum(process_seconds(pid) for pid in pids)
    return seconds


def cpu_per_item(before: dict[str, float], after: dict[str, float], items: int) -> dict[str, float]:
    """Milliseconds of CPU per item, per component (those that spent any), largest first."""
    spent = {name: (after[name] - before.get(name, 0.0)) * 1000 / items for name in after}
    return dict(sorted(((n, ms) for n, ms in spent.items() if ms > 0), key=lambda x: -x[1]))
