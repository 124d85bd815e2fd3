"""``agentic roles classify`` and ``agentic skills search``: L13 and L14 through the gateway.

Calls go to the mesh's gateway (REST) with a credential: ``--token``, else ``$AGENTIC_TOKEN``,
else the development token (refused by a production mesh).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.kit import DEV_TOKENS
from services.launcher.config import LauncherSettings

TOKEN_ENV = "AGENTIC_TOKEN"

roles_app = typer.Typer(help="Roles (L13): classify a task.", no_args_is_help=True)
skills_app = typer.Typer(help="Skills (L14): search by meaning.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Mesh directory (default: $AGENTIC_HOME or ./.agentic)."),
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", help=f"API key or JWT (default: ${TOKEN_ENV}, else the dev token)."),
]


def _post(home: Path | None, token: str | None, path: str, body: dict[str, Any]) -> Any:
    settings = LauncherSettings(home=home) if home is not None else LauncherSettings()
    credential = token or os.environ.get(TOKEN_ENV) or next(iter(DEV_TOKENS))
    try:
        response = httpx.post(
            f"http://127.0.0.1:{settings.gateway_port}{path}",
            json=body,
            headers={"authorization": f"Bearer {credential}"},
            timeout=30,
        )
    except httpx.HTTPError as error:
        err.print(
            f"[red]error:[/] the gateway did not answer ({escape(str(error))}): is the mesh up?"
        )
        raise typer.Exit(1) from None
    if response.status_code != 200:
        message = response.json().get("message", response.text) if response.content else ""
        err.print(f"[red]error {response.status_code}:[/] {escape(str(message))}")
        raise typer.Exit(1)
    return response.json()


@roles_app.command()
def classify(
    text: Annotated[str, typer.Argument(help="The task, in your words.")],
    limit: Annotated[int, typer.Option(help="How many roles.")] = 3,
    home: HomeOption = None,
    token: TokenOption = None,
) -> None:
    """The roles that fit TEXT, best first, and whether it needs oversight."""
    answer = _post(home, token, "/v1/roles:classify", {"text": text, "limit": limit})
    table = Table("role", "score", "why")
    for match in answer.get("matches", []):
        table.add_row(match["name"], f"{match['score']:.3f}", escape("; ".join(match["reasons"])))
    console.print(table)
    if answer.get("needs_oversight"):
        reasons = ", ".join(answer.get("oversight_reasons", []))
        console.print(f"[yellow]needs oversight:[/] {escape(reasons)}")
    else:
        console.print("needs oversight: no")


@skills_app.command()
def search(
    query: Annotated[str, typer.Argument(help="What the skill is for, in words.")],
    limit: Annotated[int, typer.Option(help="How many skills.")] = 5,
    category: Annotated[str, typer.Option(help="Only this category.")] = "",
    home: HomeOption = None,
    token: TokenOption = None,
) -> None:
    """The skills nearest in meaning to QUERY, best first."""
    body: dict[str, Any] = {"query": query, "limit": limit}
    if category:
        body["category"] = category
    answer = _post(home, token, "/v1/skills:search", body)
    table = Table("skill", "score", "version", "category", "description")
    for match in answer.get("matches", []):
        table.add_row(
            match["name"], f"{match['score']:.3f}", match.get("version", ""),
            match.get("category", ""), escape(match.get("description", "")),
        )  # fmt: skip
    console.print(table)
