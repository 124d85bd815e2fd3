"""The CLI's calls to the platform's REST API through the gateway (Envoy, port 8009)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from services.launcher.config import LauncherSettings

DEV_TOKEN = "dev_key_local_ONLY"
TOKEN_ENV = "AGENTIC_TOKEN"

TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help=f"API key or JWT for the gateway (default: ${TOKEN_ENV}, else the dev token).",
    ),
]
HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Mesh directory (default: $AGENTIC_HOME or ./.agentic)."),
]


class GatewayCallError(Exception):
    """A call the gateway or a layer refused: HTTP status, platform code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code or status}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _reason(body: dict[str, Any]) -> str:
    for detail in body.get("details", []):
        if str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo"):
            return str(detail.get("reason", ""))
    return str(body.get("reason", ""))


class GatewayClient:
    def __init__(self, home: Path | None, token: str | None, timeout: float = 30.0) -> None:
        settings = LauncherSettings(home=home) if home is not None else LauncherSettings()
        credential = token or os.environ.get(TOKEN_ENV) or DEV_TOKEN
        self._client = httpx.Client(
            base_url=f"http://127.0.0.1:{settings.gateway_port}",
            headers={"authorization": f"Bearer {credential}"},
            timeout=timeout,
        )
        self.settings = settings

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, json=body, params=params)
        except httpx.HTTPError as error:
            raise GatewayCallError(0, "", f"cannot reach the gateway: {error}") from None
        try:
            document = response.json()
        except ValueError:
            document = {"message": response.text.strip()}
        if response.status_code >= 400:
            message = str(document.get("message", response.reason_phrase))
            raise GatewayCallError(response.status_code, _reason(document), message)
        return document  # type: ignore[no-any-return]
