"""``agentic tools list|run``: the tool service (L03) through the gateway.

    agentic tools list
    agentic tools run python_exec --code 'print(2+2)'
    agentic tools run shell --json '{"argv": ["ls", "-la"]}' --workspace scratch

``run`` prints the tool's stdout and stderr as they are, says on stderr which limit stopped
it (if one did), and exits with the tool's exit code.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from google.protobuf import json_format
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agentic.tools.v1 import tools_pb2 as pb
from agentic.tools.v1 import tools_pb2_grpc
from services.kit import open_channel
from services.launcher.config import LauncherSettings

DEV_TOKEN = "dev_key_local_ONLY"

app = typer.Typer(help="List and run the mesh's tools (L03).", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Mesh directory (default: $AGENTIC_HOME or ./.agentic)."),
]
TokenOption = Annotated[
    str,
    typer.Option("--token", envvar="AGENTIC_TOKEN", help="Bearer credential (API key or JWT)."),
]


def _gateway(home: Path | None) -> str:
    settings = LauncherSettings(home=home) if home is not None else LauncherSettings()
    return f"127.0.0.1:{settings.gateway_port}"


def _fail(error: grpc.aio.AioRpcError) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(error.code().name)}: {escape(error.details() or '')}")
    return typer.Exit(2)


@app.command("list")
def list_tools(
    home: HomeOption = None,
    token: TokenOption = DEV_TOKEN,
    deprecated: Annotated[bool, typer.Option(help="Include deprecated tools.")] = False,
) -> None:
    """The registered tools."""

    async def fetch() -> list[pb.Tool]:
        async with open_channel(_gateway(home), token=token) as channel:
            stub = tools_pb2_grpc.ToolServiceStub(channel)
            reply = await stub.ListTools(
                pb.ListToolsRequest(page_size=200, show_deprecated=deprecated)
            )
            return list(reply.tools)

    try:
        tools = asyncio.run(fetch())
    except grpc.aio.AioRpcError as error:
        raise _fail(error) from error
    table = Table(show_edge=False, header_style="bold")
    for column in ("tool", "version", "kind", "description"):
        table.add_column(column)
    for tool in tools:
        kind = pb.ToolKind.Name(tool.kind).removeprefix("TOOL_KIND_").lower()
        note = " [yellow](deprecated)[/]" if tool.deprecated else ""
        table.add_row(
            tool.name.removeprefix("tools/"), tool.version, kind, escape(tool.description) + note
        )
    console.print(table)


@app.command()
def run(
    tool: Annotated[str, typer.Argument(help="Tool name, e.g. python_exec.")],
    code: Annotated[str | None, typer.Option(help="Sets the 'code' argument.")] = None,
    arguments: Annotated[
        str | None, typer.Option("--json", help="All arguments as a JSON object.")
    ] = None,
    workspace: Annotated[str, typer.Option(help="Workspace id (kept between runs).")] = "",
    idempotency_key: Annotated[
        str, typer.Option(help="Makes a retry return the first result.")
    ] = "",
    home: HomeOption = None,
    token: TokenOption = DEV_TOKEN,
) -> None:
    """Executes a tool and prints its output."""
    given: dict[str, Any] = {}
    if arguments:
        try:
            given = json.loads(arguments)
        except json.JSONDecodeError as exc:
            err.print(f"[red]error:[/] --json is not JSON: {escape(str(exc))}")
            raise typer.Exit(2) from exc
        if not isinstance(given, dict):
            err.print("[red]error:[/] --json must be a JSON object")
            raise typer.Exit(2)
    if code is not None:
        given["code"] = code
    request = pb.ExecuteRequest(
        name=f"tools/{tool}", workspace=workspace, idempotency_key=idempotency_key
    )
    request.arguments.update(given)

    async def execute() -> pb.ExecuteResponse:
        async with open_channel(_gateway(home), token=token, timeout=60) as channel:
            response: pb.ExecuteResponse = await tools_pb2_grpc.ToolServiceStub(channel).Execute(
                request
            )
            return response

    try:
        result = asyncio.run(execute())
    except grpc.aio.AioRpcError as error:
        raise _fail(error) from error
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.HasField("result") and not result.stdout:
        sys.stdout.write(json_format.MessageToJson(result.result, indent=None) + "\n")
    if result.limit:
        err.print(f"[red]stopped by the {result.limit} limit[/]")
    raise typer.Exit(result.exit_code if 0 <= result.exit_code < 256 else 1)
