"""The HTTP socket `goldenhour serve` binds before anything else (services/server.py).

uvicorn writes an answer's status line and its body in two sends. On a connection without
TCP_NODELAY, Nagle's algorithm holds the body back until the client acknowledges the
status line, and clients delay that ACK (40 ms on Linux): every small answer on a
keep-alive connection took ~45 ms (issue 13's "one client waits ~49 ms per read").
asyncio turns Nagle off only on accepted sockets whose protocol says TCP, so the listening
socket must be made with IPPROTO_TCP.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from services.server import bind_http
from services.settings import Settings


async def _nodelay_of_accepted(listening: socket.socket) -> int:
    """Serve `listening` as uvicorn does (`loop.create_server(sock=...)`), connect once,
    and return the server side's TCP_NODELAY."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=listening)
    async with server:
        host, port = listening.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(seen, timeout=30)
        finally:
            writer.close()


def test_serve_socket__answers_are_not_held_back_by_nagle(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, host="127.0.0.1", http_port=0)
    listening = bind_http(settings)
    assert asyncio.run(_nodelay_of_accepted(listening)) != 0
