"""A stand-in for the city traffic platform's escort service, for the demo and the tests: a
real HTTP server (standard library), speaking the contract of escort_sender.py.

`POST /escorts` answers 503 for the first `fail_first` requests (a platform that is down
when the first ambulance leaves), then `202 {"ack_id": ...}` (the same ack id for a resent
escort id, as an idempotent platform would). With `callback=True` it then posts route
updates to the request's `callback_url` as the platform would: `planned` with the route
and ETA, then `active` with the signals it holds green. `requests` keeps every body.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from kernel.jsontypes import Json

CALLBACK_TRIES = 40
CALLBACK_PAUSE_S = 0.25  # 10 s of retries in all


class TrafficStub:
    def __init__(self, fail_first: int = 0, callback: bool = True, token: str = "") -> None:
        self.fail_first = fail_first
        self.callback = callback
        self.token = token  # bearer token for the callbacks, when the region enforces auth
        self.requests: list[Json] = []
        self.updates_sent: list[Json] = []
        self._acks: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/escorts"

    def start(self) -> TrafficStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, body: Json) -> tuple[int, Json]:
        with self._lock:
            self.requests.append(body)
            if len(self.requests) <= self.fail_first:
                return 503, {"error": "escort service restarting"}
            first = body["escort_id"] not in self._acks
            ack = self._acks.setdefault(body["escort_id"], f"TP-{uuid.uuid4().hex[:8]}")
        if first and self.callback:
            threading.Thread(target=self._report, args=(body, ack), daemon=True).start()
        return 202, {"ack_id": ack}

    def _report(self, body: Json, ack: str) -> None:
        """The platform plans the route, then holds the lights green along it."""
        route = body.get("route") or []
        for status, cleared in (("planned", 0), ("active", 3)):
            update = {
                "ack_id": ack,
                "status": status,
                "eta": body.get("eta"),
                "route": route,
                "signals_cleared": cleared,
                "note": f"{len(route)} waypoints",
            }
            if not self._post(body["callback_url"], update):
                return
            self.updates_sent.append(update)

    def _post(self, url: str, update: Json) -> bool:
        """A platform retries its callbacks a while (ours may not know the ack id yet)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for _ in range(CALLBACK_TRIES):
            try:
                if httpx.post(url, json=update, headers=headers, timeout=10).is_success:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(CALLBACK_PAUSE_S)
        return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, {"error": "not JSON"})
                    return
                if self.path != "/escorts" or "escort_id" not in body:
                    self._send(400, {"error": "POST /escorts with an escort_id"})
                    return
                self._send(*stub._answer(body))

            def _send(self, status: int, body: Json) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        return Handler
