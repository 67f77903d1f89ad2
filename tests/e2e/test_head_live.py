"""HEAD answers carry headers only: a kept-alive connection stays in step with the requests that follow."""

from __future__ import annotations

import http.client
import json


def test_head_then_get_on_one_connection_stay_in_step(api):
    host, port = api.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        for path in ("/health", "/filings", "/no-such-route"):
            conn.request("HEAD", path)
            head = conn.getresponse()
            assert head.read() == b""  # http.client reads no body for HEAD whatever the server sent
            conn.request("GET", "/health")
            got = conn.getresponse()
            assert got.status == 200, (path, got.status)
            assert json.loads(got.read()).get("status") == "ok"
    finally:
        conn.close()
