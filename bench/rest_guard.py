"""``python -m bench.rest_guard``: what the REST guard's scan of a JSON body costs, in LuaJIT
as Envoy runs it (one worker, no network), by body size, next to Python's ``json.loads`` of
the same body for scale (the transcoder parses every body once more after the guard)."""

from __future__ import annotations

import json
import os
import time

from lupa import luajit21

from services.l09_gateway import descriptor
from services.l09_gateway.render import rest_guard

# The parts of Envoy's stream handle the guard uses.
_HANDLE = """
return function(headers, body)
  local handle, map = {}, {}
  function map:get(name) return headers[name] end
  function handle:headers() return map end
  function handle:body()
    return {length = function() return #body end,
            getBytes = function(_, start, length) return body:sub(start + 1, start + length) end}
  end
  function handle:respond(response_headers) handle.status = response_headers[":status"] end
  return handle
end
"""
PATH = "/v1/streams/bench:append"


def _body(events: int) -> str:
    event = {"type": "bench.event", "data": {"n": 1, "text": "x" * 60, "list": [1, 2, 3]}}
    return json.dumps({"events": [event] * events})


def main() -> None:
    lua = luajit21.LuaRuntime()
    lua.execute(rest_guard.source(descriptor.load()))
    envoy_on_request = lua.globals().envoy_on_request
    make_handle = lua.execute(_HANDLE)
    headers = lua.table_from({":method": "POST", ":path": PATH, "content-type": "application/json"})
    print(f"REST guard scan (load average {os.getloadavg()[0]:.1f}), median of 5")
    for events in (10, 1_000, 10_000, 60_000):
        body = _body(events)
        scans, loads = [], []
        for _ in range(5):
            handle = make_handle(headers, body)
            started = time.perf_counter()
            envoy_on_request(handle)
            scans.append(time.perf_counter() - started)
            assert handle.status is None, "the guard refused a well-formed body"
            started = time.perf_counter()
            json.loads(body)
            loads.append(time.perf_counter() - started)
        scan, load = sorted(scans)[2] * 1000, sorted(loads)[2] * 1000
        print(f"  {len(body) / 1e6:6.2f} MB  guard {scan:8.2f} ms   json.loads {load:8.2f} ms")


if __name__ == "__main__":
    main()
