"""Endpoints tests stand up on loopback to see what the system sends out.

`HookReceiver` is a Subscription's rest-hook endpoint: a real HTTP server (the standard
library's, not ours) in a thread, answering every POST 200 and keeping what it got. Open it
with `contextlib.closing` so its port is released when the test ends.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HookReceiver:
    """A rest-hook endpoint on 127.0.0.1 keeping each POST's headers and body, in arrival
    order, in `posts`."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # the test's output is for the test's own failures

        # port 0: the kernel picks a free one, so no other test can take it first
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
