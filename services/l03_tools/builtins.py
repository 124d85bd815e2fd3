"""The tools every deployment has, with the JSON Schemas a model is shown."""

from __future__ import annotations

from typing import Any

from services.l03_tools.tools import SandboxProfile, ToolDefinition, ToolKind

MAX_CODE_CHARS = 100_000  # code travels as one argv string (the kernel caps one at 128 KiB)
MAX_STDIN_CHARS = 1024**2
MAX_FILE_BYTES = 8 * 1024**2

_PATH = {
    "type": "string",
    "minLength": 1,
    "maxLength": 4096,
    "description": "relative to the workspace",
}
_STDIN = {"type": "string", "maxLength": MAX_STDIN_CHARS, "description": "fed to standard input"}
_FILE_RESULT = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "content": {"type": "string"},
        "size": {"type": "integer"},
        "truncated": {"type": "boolean"},
    },
}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def builtin_tools(http_allowed_hosts: tuple[str, ...]) -> list[ToolDefinition]:
    return [
        ToolDefinition(
            name="python_exec",
            kind=ToolKind.PYTHON,
            description="Runs Python 3 code in a fresh sandbox (no network; the workspace is "
            "the current directory) and returns its stdout, stderr and exit code.",
            parameters=_object(
                {
                    "code": {"type": "string", "minLength": 1, "maxLength": MAX_CODE_CHARS},
                    "stdin": _STDIN,
                },
                ["code"],
            ),
            builtin=True,
        ),
        ToolDefinition(
            name="shell",
            kind=ToolKind.SHELL,
            description="Runs one command, given as a list of arguments (no shell, no "
            "expansion), in a fresh sandbox with the workspace as the current directory.",
            parameters=_object(
                {
                    "argv": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1, "maxLength": 10_000},
                        "minItems": 1,
                        "maxItems": 256,
                    },
                    "stdin": _STDIN,
                },
                ["argv"],
            ),
            builtin=True,
            sensitive=True,
        ),
        ToolDefinition(
            name="read_file",
            kind=ToolKind.READ_FILE,
            description="Reads a text file of the workspace.",
            parameters=_object(
                {
                    "path": _PATH,
                    "max_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_FILE_BYTES},
                },
                ["path"],
            ),
            result=_FILE_RESULT,
            builtin=True,
        ),
        ToolDefinition(
            name="write_file",
            kind=ToolKind.WRITE_FILE,
            description="Writes (or appends to) a text file of the workspace, creating "
            "directories as needed.",
            parameters=_object(
                {
                    "path": _PATH,
                    "content": {"type": "string", "maxLength": MAX_FILE_BYTES},
                    "append": {"type": "boolean"},
                },
                ["path", "content"],
            ),
            result={
                "type": "object",
                "properties": {"path": {"type": "string"}, "bytes_written": {"type": "integer"}},
            },
            builtin=True,
        ),
        ToolDefinition(
            name="list_files",
            kind=ToolKind.LIST_FILES,
            description="Lists the files and directories of the workspace (recursively).",
            parameters=_object({"path": {**_PATH, "minLength": 0}}, []),
            result={
                "type": "object",
                "properties": {"entries": {"type": "array"}, "truncated": {"type": "boolean"}},
            },
            builtin=True,
        ),
        ToolDefinition(
            name="http_fetch",
            kind=ToolKind.HTTP_FETCH,
            description="Fetches a URL (GET) through the platform's egress proxy; only the "
            "hosts the tool's profile allows can be reached.",
            parameters=_object(
                {"url": {"type": "string", "minLength": 1, "maxLength": 2048}}, ["url"]
            ),
            result={
                "type": "object",
                "properties": {
                    "status": {"type": "integer"},
                    "content_type": {"type": "string"},
                    "location": {"type": "string"},
                },
            },
            profile=SandboxProfile(allowed_hosts=http_allowed_hosts),
            builtin=True,
            sensitive=True,
        ),
    ]
