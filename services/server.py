"""Runs the long-lived system in one process: workers (processors and background tasks,
stream_processors/topology.py) in threads, HTTP in uvicorn, the MLLP listener."""

from __future__ import annotations

import socket
import threading

import uvicorn

from services.app import create_app
from services.auth.tls import own_url, tls_files
from services.hl7_gateway.listener import MllpListener
from services.registry.checks import warn_if_open
from services.settings import Settings
from services.system import System, bootstrap


def bind_http(settings: Settings) -> socket.socket:
    """The HTTP socket, bound and listening: the command line binds it before it touches
    the data dir, so a busy port is refused with nothing changed (OSError EADDRINUSE)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto says
    # TCP (base_events._set_nodelay), and uvicorn writes the status line and the body
    # separately; with Nagle on, the body waited for the client's delayed ACK (~40 ms on
    # Linux), which was most of every small answer's latency.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        # As uvicorn does; listening at once, so no second process can bind it meanwhile.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.http_port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


class Server:
    """The system plus its HTTP server, startable in a background thread (demo, tests).
    `http_socket`: one bound by `bind_http` (else uvicorn binds at `start`)."""

    def __init__(self, settings: Settings, http_socket: socket.socket | None = None):
        if http_socket is not None and settings.http_port == 0:
            settings = settings.model_copy(update={"http_port": http_socket.getsockname()[1]})
        self._socket = http_socket
        self.settings = settings
        self.system: System = bootstrap(settings)
        tls = tls_files(settings)  # HTTPS when both files are set (services/auth/tls.py)
        config = uvicorn.Config(
            create_app(self.system),
            host=settings.host,
            port=settings.http_port,
            log_level="warning",
            http="httptools",  # a dependency: compiled parsing (h11 is pure Python)
            loop="asyncio",  # not uvloop even if installed: one event loop everywhere
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
            # X-Forwarded-For names the client only when the peer is a configured proxy
            # (uvicorn walks it right to left, past trusted hops); otherwise the peer's own
            # address is the client for the rate limit and the audit. uvicorn's default
            # would trust any loopback peer, i.e. anything on this host.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=list(settings.trusted_proxies) or [],
        )
        self._http = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.mllp = (
            MllpListener(self.system, settings.host, settings.mllp_port)
            if settings.mllp_port >= 0
            else None
        )

    @property
    def base_url(self) -> str:
        return own_url(self.settings)

    def start(self) -> None:
        if self.settings.run_processors:
            self.system.start_workers()  # stream_processors/topology.py
        if self.mllp:
            self.mllp.start()
        sockets = {"sockets": [self._socket]} if self._socket else {}
        self._thread = threading.Thread(
            target=self._http.run, kwargs=sockets, name="http", daemon=True
        )
        self._thread.start()
        while not self._http.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"HTTP server did not start on {self.base_url}")
            threading.Event().wait(0.05)
        warn_if_open(self.system.store)  # an empty registry checks no ids: say so

    def stop(self) -> None:
        if self.mllp:
            self.mllp.stop()
        self._http.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
        self.system.close()


def serve(settings: Settings, http_socket: socket.socket | None = None) -> None:
    server = Server(settings, http_socket)
    settings = server.settings
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    mllp = f", HL7 v2 MLLP on {settings.host}:{server.mllp.port}" if server.mllp else ""
    print(
        f"goldenhour: serving {server.base_url}/fhir/metadata{mllp} "
        f"(log {settings.log_url}, store {settings.store_url}); Ctrl-C stops",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
