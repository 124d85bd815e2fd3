"""http_fetch: the platform's egress proxy. Sandboxed code has no network at all; a fetch
is made here, by this process, only to a host the tool's profile allows, without following
redirects elsewhere, and with the profile's time and size limits."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from services.kit import PlatformError
from services.l03_tools import errors
from services.l03_tools.tools import Limit, SandboxProfile


@dataclass(frozen=True)
class Fetched:
    status: int
    content_type: str
    body: str
    location: str
    limit: Limit
    error: str
    duration_seconds: float


def allowed(url: str, hosts: tuple[str, ...]) -> bool:
    """``host`` in the list allows any port of it; ``host:port`` only that port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for entry in hosts:
        name, _, wanted = entry.lower().partition(":")
        if name == host and (not wanted or wanted == str(port)):
            return True
    return False


def check(url: str, profile: SandboxProfile) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PlatformError(
            errors.INVALID_ARGUMENTS, "url must be an http or https URL", field="arguments.url"
        )
    if not allowed(url, profile.allowed_hosts):
        raise PlatformError(
            errors.HOST_NOT_ALLOWED,
            f"host {parts.netloc!r} is not in the tool's allowed hosts "
            f"({', '.join(profile.allowed_hosts) or 'none'})",
            field="arguments.url",
        )


async def fetch(url: str, profile: SandboxProfile) -> Fetched:
    check(url, profile)
    started = time.perf_counter()
    body = bytearray()
    limit = Limit.NONE
    try:
        async with (
            httpx.AsyncClient(
                follow_redirects=False, trust_env=False, timeout=profile.wall_seconds
            ) as client,
            client.stream("GET", url) as response,
        ):
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > profile.max_output_bytes:
                    del body[profile.max_output_bytes :]
                    limit = Limit.OUTPUT
                    break
            return Fetched(
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body=body.decode("utf-8", errors="replace"),
                location=response.headers.get("location", ""),
                limit=limit,
                error="",
                duration_seconds=time.perf_counter() - started,
            )
    except httpx.TimeoutException:
        return Fetched(0, "", "", "", Limit.TIME, "timed out", time.perf_counter() - started)
    except httpx.HTTPError as exc:
        return Fetched(0, "", "", "", Limit.NONE, str(exc), time.perf_counter() - started)
