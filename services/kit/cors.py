"""Which browser origins the gateway's CORS policy allows.

One setting (the launcher's ``AGENTIC_CORS_ORIGINS``) written into the gateway's Envoy
configuration: exact origins (``https://app.example.com``), ``localhost`` for any loopback
origin (http or https, any port) or ``*`` for any origin. By default a development mesh allows
the loopback origins and a production mesh none. An origin not allowed gets no
``access-control-allow-origin``: the browser keeps the answer from the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

LOCALHOST = "localhost"
ANY_ORIGIN = "*"
# Origins of pages served from this machine: http(s)://localhost, 127.0.0.1 or [::1], any port.
LOOPBACK_ORIGIN_REGEX = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"


def default_origins(production: bool) -> tuple[str, ...]:
    return () if production else (LOCALHOST,)


def parse_origins(text: str) -> tuple[str, ...]:
    """``"https://a.example, localhost"`` -> the origins, in order, without blanks."""
    return tuple(origin.strip() for origin in text.split(",") if origin.strip())


def origin_matchers(origins: Iterable[str]) -> list[dict[str, Any]]:
    """Envoy ``StringMatcher``s (as configuration data) that match exactly the allowed origins."""
    matchers: list[dict[str, Any]] = []
    for origin in origins:
        if origin == ANY_ORIGIN:
            matchers.append({"safe_regex": {"regex": ".*"}})
        elif origin == LOCALHOST:
            matchers.append({"safe_regex": {"regex": LOOPBACK_ORIGIN_REGEX}})
        else:
            matchers.append({"exact": origin})
    return matchers
