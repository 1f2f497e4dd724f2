"""The websocket channel of the Subscriptions Backport IG: binding tokens and the live feed.

A client gets a token from `Subscription/{id}/$get-ws-binding-token`, opens the websocket
(`/fhir/ws`) and sends `bind-with-token: <token>`; it may bind several subscriptions on one
connection. The server answers each bind with a `handshake` Bundle, then pushes an
`event-notification` Bundle for every notification numbered after the bind, in eventNumber
order, and a `heartbeat` Bundle after the subscription's heartbeat period of silence.

Nothing is acknowledged on a websocket: what a client missed while disconnected (its last
eventNumber is below the handshake's events-since-subscription-start) it fetches with
`$events` from the number after the last it saw, at any time: notifications stay in the
view for the subscription's life. This is the difference from a feed that cannot replay.

Tokens are stateless: `<subscription id>.<expiry epoch s>.<HMAC-SHA256>` under a server key
(`subscription_token_key`; a random one per process when unset, so give every API instance
the same key when there are several).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from kernel.jsontypes import Json
from kernel.text import ascii_digits
from services.subscriptions.bundle import notification_bundle
from services.subscriptions.views import LIVE_HOLDS, as_owner_sees, load_events, load_state
from viewstore.base import ViewStore

TOKEN_TTL_S = 3600  # a token binds within the hour
BIND_PREFIX = "bind-with-token:"
BATCH = 20  # notifications per pushed Bundle
_PROCESS_KEY = secrets.token_bytes(32)


class TokenSigner:
    def __init__(self, key: str = ""):
        self._key = key.encode() if key else _PROCESS_KEY

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, subscription_id: str, now: float, ttl_s: int = TOKEN_TTL_S) -> tuple[str, int]:
        """(token, expiry as epoch seconds)."""
        expires = int(now) + ttl_s
        payload = f"{subscription_id}.{expires}"
        return f"{payload}.{self._mac(payload)}", expires

    def verify(self, token: str, now: float) -> str | None:
        """The subscription id the token binds, or None (forged, malformed, expired)."""
        sid, _, rest = token.strip().partition(".")
        expires, _, mac = rest.partition(".")
        if not (sid and ascii_digits(expires) and mac):
            return None
        if not hmac.compare_digest(mac, self._mac(f"{sid}.{expires}")):
            return None
        return sid if int(expires) >= now else None


@dataclass
class _Binding:
    sent: int  # last eventNumber pushed
    last_push: float = field(default_factory=time.monotonic)


class WebsocketFeed:
    """One client connection: its bindings and what was pushed on each."""

    def __init__(
        self, ws: WebSocket, store: ViewStore, signer: TokenSigner, base: str, poll_s: float
    ):
        self.ws = ws
        self.store = store
        self.signer = signer
        self.base = base
        self.poll_s = poll_s
        self.bindings: dict[str, _Binding] = {}
        self.binds: asyncio.Queue[str] = asyncio.Queue()

    async def serve(self) -> None:
        await self.ws.accept()
        reader = asyncio.create_task(self._read())
        try:
            while not reader.done():
                while not self.binds.empty():
                    await self._bind(self.binds.get_nowait())
                for sid in list(self.bindings):
                    await self._push(sid)
                await asyncio.sleep(self.poll_s)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away mid-send
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader

    async def _read(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await self.ws.receive_text()
                if text.strip().lower().startswith(BIND_PREFIX):
                    await self.binds.put(text.strip()[len(BIND_PREFIX) :].strip())

    async def _state(self, sid: str) -> Json | None:
        return await asyncio.to_thread(load_state, self.store, sid)

    async def _bind(self, token: str) -> None:
        sid = self.signer.verify(token, time.time())
        state = await self._state(sid) if sid else None
        if (
            sid is None
            or state is None
            or state["channel_type"] != "websocket"
            or state["status"] == "off"
        ):
            await self.ws.send_text(
                json.dumps(_refusal("token does not bind a live websocket subscription"))
            )
            return
        self.bindings[sid] = _Binding(sent=state["events"])
        await self._send(notification_bundle(state, "handshake", self.base, status="active"))

    async def _push(self, sid: str) -> None:
        state = await self._state(sid)
        binding = self.bindings[sid]
        if state is None or state["status"] == "off":
            del self.bindings[sid]
            return
        if binding.sent < state["events"]:
            last = min(state["events"], binding.sent + BATCH)
            events = await asyncio.to_thread(load_events, self.store, sid, binding.sent + 1, last)
            events, resources = await asyncio.to_thread(
                as_owner_sees,
                self.store,
                events,
                state.get("owner", ""),
                state["payload_content"],
                LIVE_HOLDS,
            )
            if not events:
                return
            bundle = notification_bundle(state, "event-notification", self.base, events, resources)
            await self._send(bundle)
            binding.sent = events[-1]["event_number"]
            binding.last_push = time.monotonic()
        elif (
            state["heartbeat_period_s"]
            and time.monotonic() - binding.last_push >= state["heartbeat_period_s"]
        ):
            await self._send(notification_bundle(state, "heartbeat", self.base))
            binding.last_push = time.monotonic()

    async def _send(self, doc: Json) -> None:
        await self.ws.send_text(json.dumps(doc, separators=(",", ":")))


def _refusal(text: str) -> Json:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "security", "diagnostics": text}],
    }
