"""``agentic secrets put|get|list|rotate-key``: L00's secrets, through the gateway."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.launcher.components import master_key_file, new_master_key_line
from services.launcher.gateway_client import (
    GatewayCallError,
    GatewayClient,
    HomeOption,
    TokenOption,
)

app = typer.Typer(
    help="Put, read and list secrets (L00), through the gateway.", no_args_is_help=True
)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(error: GatewayCallError) -> typer.Exit:
    err.print(f"[red]error:[/] {escape(str(error))}")
    return typer.Exit(1)


@app.command()
def put(
    name: Annotated[str, typer.Argument(help="The secret's name.")],
    value: Annotated[
        str | None, typer.Argument(help="The value; read from stdin when left out.")
    ] = None,
    principal: Annotated[
        list[str] | None, typer.Option("--principal", "-p", help="May read it (new secrets).")
    ] = None,
    layer: Annotated[
        list[str] | None,
        typer.Option("--layer", "-l", help="A layer that may read it (new secrets)."),
    ] = None,
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Add a version holding VALUE, creating the secret first if it does not exist."""
    text = value if value is not None else sys.stdin.read().rstrip("\n")
    client = GatewayClient(home, token)
    policy = {"principals": principal or [], "layers": layer or []}
    try:
        try:
            client.call("POST", "/v1/secrets", body={"name": name, "access_policy": policy})
        except GatewayCallError as error:
            if error.code != "E0006":  # it exists: add a version to it
                raise
        added = client.call("POST", f"/v1/secrets/{name}/versions", body={"value": text})
    except GatewayCallError as error:
        raise _fail(error) from None
    console.print(f"{escape(name)}: version {added['version']['version']} added")


@app.command()
def get(
    name: Annotated[str, typer.Argument(help="The secret's name.")],
    version: Annotated[str, typer.Option(help="A version number, or latest.")] = "latest",
    token: TokenOption = None,
    home: HomeOption = None,
) -> None:
    """Print a version's value (binary values as base64)."""
    try:
        reply = GatewayClient(home, token).call(
            "GET", f"/v1/secrets/{name}/versions/{version}:access"
        )
    except GatewayCallError as error:
        raise _fail(error) from None
    print(reply.get("value", reply.get("binary_value", "")), flush=True)


@app.command("list")
def list_secrets(token: TokenOption = None, home: HomeOption = None) -> None:
    """The secrets you may see: name, versions, labels, readers (never a value)."""
    client = GatewayClient(home, token)
    table = Table(show_edge=False, header_style="bold")
    for column in ("name", "versions", "labels", "principals", "layers", "managers"):
        table.add_column(column)
    page_token = ""
    try:
        while True:
            page = client.call(
                "GET", "/v1/secrets", params={"page_size": 1000, "page_token": page_token}
            )
            for secret in page.get("secrets", []):
                policy = secret.get("access_policy", {})
                states = [
                    f"{v['version']}:{v['state'].removeprefix('VERSION_STATE_').lower()}"
                    for v in secret.get("versions", [])
                ]
                table.add_row(
                    escape(secret["name"]),
                    " ".join(states) or "-",
                    escape(", ".join(f"{k}={v}" for k, v in secret.get("labels", {}).items())),
                    escape(", ".join(policy.get("principals", []))),
                    escape(", ".join(policy.get("layers", []))),
                    escape(", ".join(policy.get("managers", []))),
                )
            page_token = page.get("next_page_token", "")
            if not page_token:
                break
    except GatewayCallError as error:
        raise _fail(error) from None
    console.print(table)


@app.command("rotate-key")
def rotate_key(token: TokenOption = None, home: HomeOption = None) -> None:
    """Append a fresh master key to the mesh's keyring and re-wrap every data key under it."""
    client = GatewayClient(home, token)
    keyring = master_key_file(client.settings.home)
    if not keyring.is_file():
        err.print(
            f"[red]error:[/] no keyring at {keyring} (is L00 configured with L00_MASTER_KEY?)"
        )
        raise typer.Exit(1)
    with keyring.open("a") as file:
        file.write(new_master_key_line() + "\n")
    try:
        reply = client.call("POST", "/v1/secrets:rotateMasterKey", body={})
    except GatewayCallError as error:
        raise _fail(error) from None
    console.print(
        f"current master key {reply['current_key_id']}; {reply.get('rewrapped', '0')} data keys "
        f"re-wrapped. Older lines of {keyring} may now be removed."
    )
