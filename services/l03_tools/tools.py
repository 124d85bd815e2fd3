"""What a tool is and what an execution returns: plain data, no gRPC."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from typing import Any

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")

# Bounds of a profile; a registration outside them is refused.
MAX_WALL_SECONDS = 25.0  # under the gateway's 30 s route timeout for L03
MAX_MEMORY_BYTES = 4 * 1024**3
MAX_PROCESSES = 1024
MAX_OUTPUT_BYTES = 16 * 1024**2


class ToolKind(enum.Enum):
    PYTHON = "python"
    SHELL = "shell"
    READ_FILE = "read_file"
    WRITE_FILE = "write_file"
    LIST_FILES = "list_files"
    HTTP_FETCH = "http_fetch"
    GRPC_METHOD = "grpc_method"

    @property
    def sandboxed(self) -> bool:
        """Runs code in a sandbox (the others run in this process, on checked inputs)."""
        return self in (ToolKind.PYTHON, ToolKind.SHELL)


class Limit(enum.Enum):
    """Which limit stopped an execution."""

    NONE = ""
    TIME = "time"
    MEMORY = "memory"
    PROCESSES = "processes"
    OUTPUT = "output"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SandboxProfile:
    wall_seconds: float = 10.0
    cpu_seconds: float = 10.0
    memory_bytes: int = 512 * 1024**2
    max_processes: int = 64
    max_output_bytes: int = 1024**2
    allowed_hosts: tuple[str, ...] = ()
    read_only_workspace: bool = False

    def problems(self) -> list[tuple[str, str]]:
        """(field, why) for every bound this profile breaks."""
        found = []
        if not 0 < self.wall_seconds <= MAX_WALL_SECONDS:
            found.append(("wall_time", f"must be more than 0 and at most {MAX_WALL_SECONDS:g}s"))
        if not 0 < self.cpu_seconds <= MAX_WALL_SECONDS:
            found.append(("cpu_time", f"must be more than 0 and at most {MAX_WALL_SECONDS:g}s"))
        if not 16 * 1024**2 <= self.memory_bytes <= MAX_MEMORY_BYTES:
            found.append(("memory_bytes", f"must be 16 MiB to {MAX_MEMORY_BYTES} bytes"))
        if not 1 <= self.max_processes <= MAX_PROCESSES:
            found.append(("max_processes", f"must be 1 to {MAX_PROCESSES}"))
        if not 1 <= self.max_output_bytes <= MAX_OUTPUT_BYTES:
            found.append(("max_output_bytes", f"must be 1 to {MAX_OUTPUT_BYTES}"))
        return found


@dataclass(frozen=True)
class ToolDefinition:
    name: str  # the bare name, e.g. "python_exec"
    kind: ToolKind
    description: str
    parameters: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)
    version: str = "1"
    profile: SandboxProfile = SandboxProfile()
    source: str = ""  # PYTHON tools other than python_exec
    grpc_method: str = ""  # GRPC_METHOD tools: "package.Service/Method"
    builtin: bool = False
    # Asks L08 before each execution (see supervision.py).
    sensitive: bool = False
    deprecated: bool = False
    deprecation_message: str = ""
    update_time: float = 0.0  # seconds since the epoch

    def deprecate(self, message: str) -> ToolDefinition:
        return replace(self, deprecated=True, deprecation_message=message)


@dataclass(frozen=True)
class ExecutionResult:
    execution_id: str
    tool: str
    tool_version: str
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    result: dict[str, Any] | None = None
    limit: Limit = Limit.NONE
    duration_seconds: float = 0.0
    replayed: bool = False
