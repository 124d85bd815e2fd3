"""``agentic agents``: create, list, run and watch agents through the gateway's REST API."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="Agents (L02): create, list, run a task, follow it.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)

GatewayOption = Annotated[
    str,
    typer.Option("--gateway", envvar="AGENTIC_GATEWAY_URL", help="The gateway's base URL."),
]
TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="AGENTIC_TOKEN",
        help="API key or JWT (default: the development token, accepted in development only).",
    ),
]
_DEV_TOKEN = "dev_key_local_ONLY"
_FINAL_RUN = (
    "RUN_STATUS_COMPLETED",
    "RUN_STATUS_BUDGET_EXHAUSTED",
    "RUN_STATUS_CANCELLED",
    "RUN_STATUS_FAILED",
)


def _client(gateway: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=gateway, headers={"authorization": f"Bearer {token}"}, timeout=30)


def _answer(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json() if response.content else {}
    if response.status_code != 200:
        console.print(
            f"[red]error {response.status_code}:[/] {escape(body.get('message', response.text))}"
        )
        raise typer.Exit(1)
    return body


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name for people.")],
    role: Annotated[str, typer.Option(help="Its role, e.g. debugger.")] = "",
    tool: Annotated[
        list[str] | None, typer.Option("--tool", help="An allowed tool (repeat).")
    ] = None,
    max_steps: Annotated[int, typer.Option(help="Steps per run (0: default 8).")] = 0,
    model: Annotated[str, typer.Option(help="An L04 model id (default: routed).")] = "",
    gateway: GatewayOption = "http://127.0.0.1:8009",
    token: TokenOption = _DEV_TOKEN,
) -> None:
    """Create an agent and print its name."""
    agent = {
        "display_name": name,
        "role": role,
        "allowed_tools": tool or [],
        "budgets": {"max_steps": max_steps},
        "model_policy": {"model": model},
    }
    with _client(gateway, token) as client:
        body = _answer(client.post("/v1/agents", json=agent))
    console.print(body["agent"]["name"])


@app.command("list")
def list_agents(
    state: Annotated[str, typer.Option(help="Only this state, e.g. RUNNING.")] = "",
    role: Annotated[str, typer.Option(help="Only this role.")] = "",
    gateway: GatewayOption = "http://127.0.0.1:8009",
    token: TokenOption = _DEV_TOKEN,
) -> None:
    """List agents, newest first."""
    params: dict[str, str | int] = {"role": role, "page_size": 100}
    if state:
        params["state"] = f"AGENT_STATE_{state.upper()}"
    with _client(gateway, token) as client:
        body = _answer(client.get("/v1/agents", params={k: v for k, v in params.items() if v}))
    table = Table(show_edge=False, header_style="bold")
    for column in ("agent", "name", "role", "state", "tokens", "tool calls"):
        table.add_column(column)
    for agent in body.get("agents", []):
        table.add_row(
            agent["name"],
            escape(agent.get("display_name", "")),
            agent.get("role", ""),
            agent.get("state", "").removeprefix("AGENT_STATE_"),
            str(agent.get("tokens_used", 0)),
            str(agent.get("tool_calls", 0)),
        )
    console.print(table)


@app.command("run")
def run(
    agent: Annotated[str, typer.Argument(help="The agent: agents/{id} or its id.")],
    task: Annotated[str, typer.Argument(help="The task.")],
    wait: Annotated[bool, typer.Option(help="Follow the run until it ends.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    gateway: GatewayOption = "http://127.0.0.1:8009",
    token: TokenOption = _DEV_TOKEN,
) -> None:
    """Run a task on an agent; with --wait (default) print each step as it happens."""
    name = agent if agent.startswith("agents/") else f"agents/{agent}"
    with _client(gateway, token) as client:
        _answer(client.post(f"/v1/{name}:run", json={"task": task}))
        run_body: dict[str, Any] = {}
        shown = 0
        while wait:
            run_body = _answer(client.get(f"/v1/{name}")).get("run", {})
            steps = run_body.get("steps", [])
            for step in steps[shown:]:
                if not as_json:
                    _print_step(step)
            shown = len(steps)
            if run_body.get("status") in _FINAL_RUN:
                break
            time.sleep(0.5)
    if as_json:
        console.print_json(json.dumps(run_body))
    elif run_body:
        status = run_body["status"].removeprefix("RUN_STATUS_")
        console.print(
            f"[bold]{status}[/] {escape(run_body.get('answer') or run_body.get('reason', ''))}"
        )


def _print_step(step: dict[str, Any]) -> None:
    kind = step.get("kind", "")
    text = escape(str(step.get("text", "")).strip()[:500])
    if kind == "tool":
        console.print(
            f"  [cyan]{step['number']}. {step.get('tool')}[/]"
            f" exit {step.get('exit_code', 0)}: {text}"
        )
    elif kind == "refused":
        console.print(f"  [yellow]{step['number']}. refused[/] {text}")
    else:
        console.print(f"  [dim]{step['number']}. model:[/] {text}")
