"""A small local HTTP service standing in for the third-party API of the example project.

The tests and ``make run`` start it on 127.0.0.1 so the example jobs talk to something real
without the internet. It keeps what it received in memory; ``GET /_requests`` lists it.

Routes: ``POST /patients`` (201 with an id; 422 when the body says ``"invalid": true``),
``GET /cases?since=...`` (cases updated after ``since``), ``POST /alerts``, ``POST /readings``,
``GET /slow?seconds=N``, ``GET /_requests``, ``DELETE /_requests``.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CASES = [
    {"id": i, "name": f"case {i}", "updated_at": f"2026-01-{i:02d}T00:00:00Z"} for i in range(1, 11)
]


class _Handler(BaseHTTPRequestHandler):
    server: FakeApi

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _answer(self, status: int, payload) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body) -> None:
        url = urlsplit(self.path)
        with self.server.lock:
            self.server.received.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/_requests":
            with self.server.lock:
                return self._answer(200, list(self.server.received))
        self._record(None)
        if url.path == "/cases":
            since = query.get("since", "")
            return self._answer(200, {"items": [c for c in CASES if c["updated_at"] > since]})
        if url.path == "/slow":
            time.sleep(float(query.get("seconds", "5")))
            return self._answer(200, {"slept": True})
        return self._answer(404, {"error": "not found"})

    def do_POST(self):
        body = self._body()
        self._record(body)
        path = urlsplit(self.path).path
        if path == "/patients":
            if isinstance(body, dict) and body.get("invalid"):
                return self._answer(422, {"error": "patient is invalid"})
            with self.server.lock:
                self.server.next_id += 1
                new_id = self.server.next_id
            return self._answer(201, {"id": new_id, "patient": body})
        if path in ("/alerts", "/readings"):
            return self._answer(201, {"ok": True})
        return self._answer(404, {"error": "not found"})

    def do_DELETE(self):
        if urlsplit(self.path).path == "/_requests":
            with self.server.lock:
                self.server.received.clear()
            return self._answer(200, {"ok": True})
        return self._answer(404, {"error": "not found"})


class FakeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.lock = threading.Lock()
        self.received: list[dict] = []
        self.next_id = 1000

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeApi:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    server = FakeApi(port=args.port)
    print(f"fake API on {server.url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
