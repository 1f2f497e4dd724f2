"""Limits of the HTTP API, as pure ASGI middleware: the size of a request body (413) and the
request rate of one client (429). Both answer with an OperationOutcome, like every error.

Body size: a request whose Content-Length is over the limit is answered at once, before a
byte of its body is read. A body without Content-Length (chunked) is counted as the app
reads it; the read that crosses the limit fails and the app's answer is replaced by the 413.
Endpoints that never read their body never buffer it, so they need no check.

The default (`Settings.max_body_bytes`, 16 MiB) is sized on the largest ECG that `EcgIn`
accepts: 60 s x 2000 Hz x 12 leads = 1.44 M samples; written as JSON with samples at the
+-20,000 uV bound and ", " separators that is 8 bytes each, 11.5 MB. Measured: a synthetic
60 s 12-lead at 500 Hz is 1.1 MB compact (1.5 MB with spaces), at 2 kHz 4.5 MB (6.0 MB).
Tablet batches (at most 500 events of a few KB) are far below it.

Rate: a token bucket per client address (`scope["client"]`, which uvicorn rewrites from
X-Forwarded-For only when the peer is one of `Settings.trusted_proxies`, none by default:
services/server.py): `rate_per_s` tokens a second up to `burst`; a
request takes one, or is answered 429 with Retry-After (whole seconds until a token is
back). The defaults (50/s, burst 200) are far above what a tablet, a cart or a reader's page
does, and only stop a runaway client; a region behind one NAT address may need more.
Buckets live in this process: N API instances behind a balancer allow N times the rate.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.outcome import FHIR_JSON, issue, operation_outcome
from services.settings import Settings

# Buckets kept at once; the least recently seen client is forgotten first. A forgotten
# bucket would have refilled anyway unless more than this many clients are busy at once.
MAX_CLIENTS = 10_000


def install(app: FastAPI, settings: Settings) -> None:
    """Add both limits to `app` (the rate limit outermost: it refuses before any reading)."""
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.rate_limit_per_s > 0:
        app.add_middleware(
            RateLimit, rate_per_s=settings.rate_limit_per_s, burst=settings.rate_limit_burst
        )


def _outcome(
    status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        operation_outcome([issue(diagnostics, code)]),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


class BodyTooLarge(Exception):
    """Raised from `receive` when the body read so far crosses the limit."""


@dataclass
class _BodyState:
    received: int = 0
    exceeded: bool = False
    started: bool = False  # the app began its answer before the body crossed the limit


class BodySizeLimit:
    """413 for a request body over `max_bytes`, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(declared)(scope, receive, send)
            return
        state = _BodyState()
        try:
            await self.app(scope, self._counting(receive, state), self._guarded(send, state))
        except BodyTooLarge:
            if not state.exceeded:  # pragma: no cover - only our receive raises it
                raise
        if state.exceeded and not state.started:
            await self._too_large(state.received)(scope, receive, send)

    def _too_large(self, size: int) -> JSONResponse:
        return _outcome(
            413,
            "too-costly",
            f"request body of {size} bytes or more exceeds the limit of {self.max_bytes} bytes",
            {"Connection": "close"},
        )

    def _counting(self, receive: Receive, state: _BodyState) -> Receive:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state.received += len(message.get("body", b""))
                if state.received > self.max_bytes:
                    state.exceeded = True
                    raise BodyTooLarge(f"body exceeds {self.max_bytes} bytes")
            return message

        return counted

    def _guarded(self, send: Send, state: _BodyState) -> Send:
        """Passes the app's answer through, unless the body crossed the limit first: then
        whatever the app made of the failed read (a 400, a 500) is dropped for our 413."""

        async def guarded(message: Message) -> None:
            if state.exceeded and not state.started:
                return
            state.started = True
            await send(message)

        return guarded


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed Content-Length itself
    return None


@dataclass
class _Bucket:
    tokens: float
    at: float  # monotonic seconds of the last refill


class TokenBuckets:
    """One token bucket per client key; pure apart from the clock it is given."""

    def __init__(self, rate_per_s: float, burst: int, max_clients: int = MAX_CLIENTS):
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, client: str, now: float) -> float:
        """0.0 if `client` may make a request now (a token is taken), else the seconds until
        its next token."""
        bucket = self._bucket(client, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate_per_s)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate_per_s

    def _bucket(self, client: str, now: float) -> _Bucket:
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(float(self.burst), now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(client)
        return bucket


class RateLimit:
    """429 with Retry-After for a client address past its token bucket. Runs on the event
    loop, so the buckets need no lock."""

    def __init__(
        self,
        app: ASGIApp,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.app = app
        self.buckets = TokenBuckets(rate_per_s, burst)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wait_s = self.buckets.take(_client(scope), self.clock())
        if wait_s <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = str(max(1, math.ceil(wait_s)))
        response = _outcome(
            429,
            "throttled",
            f"too many requests from this client (limit {self.buckets.rate_per_s:g}/s, "
            f"burst {self.buckets.burst}); retry after {retry_after} s",
            {"Retry-After": retry_after},
        )
        await response(scope, receive, send)


def _client(scope: Scope) -> str:
    client: Any = scope.get("client")
    return str(client[0]) if client else "unknown"
