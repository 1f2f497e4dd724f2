"""TLS for both entries, from `tls_cert_file` / `tls_key_file` (PEM; mounted from a secret,
never in the repository). Both set: HTTP is HTTPS (uvicorn's ssl options) and MLLP runs
over TLS (an `ssl.SSLContext` on the asyncio server), TLS 1.2 at least. Neither set: plain
TCP, as the embedded demo runs. One set without the other is a configuration error.

Client certificates (mutual TLS) are not asked for: HTTP callers carry bearer tokens and
MLLP peers are identified by facility and source address (services/auth/peers.py).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from services.settings import Settings


def tls_files(settings: Settings) -> tuple[Path, Path] | None:
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ValueError("set both GOLDENHOUR_TLS_CERT_FILE and GOLDENHOUR_TLS_KEY_FILE")
    return cert, key


def own_url(settings: Settings) -> str:
    """Where this process serves HTTP: `https://host:port` when TLS is on."""
    scheme = "https" if tls_files(settings) else "http"
    return f"{scheme}://{settings.host}:{settings.http_port}"


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """The server-side TLS context for the MLLP listener, or None (plain TCP)."""
    files = tls_files(settings)
    if files is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=files[0], keyfile=files[1])
    return context
