"""A stand-in for HashiCorp Vault's KV v2 secrets engine, over real HTTP.

No Vault (or OpenBao) server installs on this machine (neither is on PyPI, npm or Debian), so
the Vault backend is tested against this: the endpoints hvac's ``secrets.kv.v2`` client calls,
with Vault's paths, token header, JSON shapes and status codes (404 for a destroyed or unknown
version, 403 for a wrong token). Not a Vault: no policies, leases, seal or encryption.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class KvVersion:
    data: dict[str, Any]
    created_time: str
    destroyed: bool = False


@dataclass
class KvStore:
    token: str
    mount: str = "secret"
    paths: dict[str, list[KvVersion]] = field(default_factory=dict)
    requests: int = 0


def _metadata(number: int, version: KvVersion) -> dict[str, Any]:
    return {
        "version": number,
        "created_time": version.created_time,
        "deletion_time": "",
        "destroyed": version.destroyed,
        "custom_metadata": None,
    }


def _handler(store: KvStore) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _route(self) -> tuple[str, str, dict[str, list[str]]] | None:
            store.requests += 1
            if self.headers.get("X-Vault-Token") != store.token:
                self._reply(403, {"errors": ["permission denied"]})
                return None
            url = urlsplit(self.path)
            prefix = f"/v1/{store.mount}/"
            if not url.path.startswith(prefix):
                self._reply(404, {"errors": [f"no handler for route {url.path!r}"]})
                return None
            kind, _, path = url.path[len(prefix) :].partition("/")
            return kind, path, parse_qs(url.query)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("content-length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")  # type: ignore[no-any-return]

        def do_POST(self) -> None:
            self.do_PUT()

        def do_PUT(self) -> None:
            route = self._route()
            if route is None:
                return
            kind, path, _ = route
            body = self._body()
            if kind == "data":
                created = datetime.now(UTC).isoformat()
                versions = store.paths.setdefault(path, [])
                versions.append(KvVersion(dict(body["data"]), created))
                self._reply(200, {"data": _metadata(len(versions), versions[-1])})
            elif kind == "destroy":
                for number in body.get("versions", []):
                    versions = store.paths.get(path, [])
                    if 1 <= number <= len(versions):
                        versions[number - 1].destroyed = True
                        versions[number - 1].data = {}
                self._reply(204)
            else:
                self._reply(404, {"errors": []})

        def do_GET(self) -> None:
            route = self._route()
            if route is None:
                return
            kind, path, query = route
            versions = store.paths.get(path, [])
            number = int(query.get("version", ["0"])[0]) or len(versions)
            if kind != "data" or not 1 <= number <= len(versions):
                self._reply(404, {"errors": []})
                return
            version = versions[number - 1]
            if version.destroyed:  # Vault: 404, the metadata saying it was destroyed
                self._reply(404, {"data": {"data": None, "metadata": _metadata(number, version)}})
                return
            self._reply(
                200, {"data": {"data": version.data, "metadata": _metadata(number, version)}}
            )

        def log_message(self, *args: object) -> None:
            return None

    return Handler


class VaultStandIn:
    """``with VaultStandIn(token) as vault:`` serves on ``vault.url`` until the block ends."""

    def __init__(self, token: str) -> None:
        self.store = KvStore(token)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.store))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> VaultStandIn:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
