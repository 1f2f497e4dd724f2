"""Delivers rest-hook notifications: an event-sourced outbox per Subscription.

The notifier numbers each subscription's notifications (`SubscriptionState.events`) and
folds the deliveries this sender records (`SubscriptionState.delivered`). This sender works
every live rest-hook subscription (lookup `SubscriptionState.channel`) in its own thread, so
an endpoint that is down delays no other subscriber. Delivery reasoning:

1. Order. Notifications are POSTed in eventNumber order, at most `max_count` per Bundle,
   and the next Bundle starts after the last acknowledged number: nothing overtakes.
2. At least once. After a 2xx the sender appends `NotificationDelivered(event_number=N)`
   (event id derived from subscription + N, so recording twice is once). A crash between the
   2xx and the append resends from the last recorded number: the receiver can tell a
   duplicate by its eventNumber. Until the notifier has folded our record, the sender keeps
   its own progress in memory and does not resend.
3. Never given up. A failure (connection error, timeout, non-2xx) backs the subscription
   off exponentially from `retry_first_s`, doubling up to `retry_max_s`, then retries at
   that cap for as long as the subscription lives: a receiver down for 24 h (or a week)
   gets everything when it returns, within `retry_max_s`. With the defaults (1 s doubling
   to 5 min) the first day is ~300 attempts. While failing, status is `error` (recorded as
   `SubscriptionStatusChanged`, with the HTTP status or the connection error); the first
   success records `active` again. `$events` serves any range at any time meanwhile.
4. Handshake and heartbeat. A `requested` subscription gets a `handshake` Bundle first; its
   2xx makes it `active`. An idle subscription with a heartbeat period gets a `heartbeat`
   Bundle after that many seconds without a POST.
5. Signature. With a secret, `X-Goldenhour-Signature: sha256=<hex HMAC-SHA256 of the body>`.
   Custom headers (`channel.header`) go with every POST.
6. Where to. Before every POST the endpoint's host is resolved again and checked by the
   SSRF guard (services/subscriptions/endpoints.py: no loopback, private, link-local or
   metadata address unless allow-listed), and the POST goes to the address just checked
   (Host header and TLS server name keep the name): a name re-pointed at 127.0.0.1 after
   the create (DNS rebinding) is a failed delivery (status `error`), never a request.
7. full-resource payloads carry the focus's *current* version from the view, judged for the
   owner in the same read (services/subscriptions/views.py: deny by default). A focus not
   in the view yet (its projector lags) holds the Bundle back up to `holds.missing_s`; one the
   owner may not see (yet: its grant may lag) up to `holds.hidden_s`; then the event is sent
   without focus (with auth off, with a reference only). A holding worker looks again at
   the next fold of any processor of its process (the focus's projector, the grant's),
   not only the notifier's, so a focus written a moment after its notification goes at
   once instead of after `poll_s`.

Logs name the subscription and event numbers; never a payload (it holds patient data).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass

import httpx

from avro_schemas.catalogue import SUBSCRIPTIONS
from avro_schemas.events import NOTIFICATION_DELIVERED, SUBSCRIPTION_STATUS_CHANGED
from kernel.event_meta import system_meta
from kernel.jsontypes import Json
from services.ingest.submit import append_event
from services.subscriptions.bundle import notification_bundle
from services.subscriptions.endpoints import EndpointGuard, EndpointRefused
from services.subscriptions.views import LIVE_HOLDS, Holds, as_owner_sees, load_events, load_state
from services.system import System
from stream_processors.notifier.published import CHANNEL_INDEX
from stream_processors.notifier.published import NAME as NOTIFIER
from stream_processors.runner import VIEWS_APPLIED

log = logging.getLogger("goldenhour.subscriptions")


SIGNATURE_HEADER = "X-Goldenhour-Signature"
# A worker holding a notification for its focus (7) looks again at the next fold of any
# processor: at once for its first few looks (the focus is usually a fold or two away),
# then at most every HELD_LOOK_EVERY_S: a busy process folds hundreds of batches a second,
# and each look is a few store reads. 10 ms is well under what a person notices.
HELD_LOOKS_AT_ONCE = 3
HELD_LOOK_EVERY_S = 0.01


@dataclass(frozen=True)
class SenderConfig:
    base_url: str  # FHIR base the notifications' fullUrls start with
    retry_first_s: float = 1.0
    retry_max_s: float = 300.0  # 5 min: a receiver back up is served within 5 min
    poll_s: float = 0.2  # how often a subscription's view is looked at
    timeout_s: float = 10.0  # connect + answer, per POST
    max_count: int = 20  # notifications per Bundle
    holds: Holds = LIVE_HOLDS  # a focus not in the views yet / hidden holds the Bundle so long


class DeliveryFailed(Exception):
    """The endpoint did not answer 2xx; the text names the status or the error, no body."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_s(failures: int, first_s: float, max_s: float) -> float:
    """Wait after `failures` consecutive failures: first_s * 2^(failures-1), at most max_s."""
    return float(min(max_s, first_s * 2 ** min(failures - 1, 60)))


class _Worker:
    """One rest-hook subscription: what it has sent, its backoff."""

    def __init__(self, sender: SubscriptionSender, subscription_id: str):
        self.sender = sender
        self.sid = subscription_id
        self.delivered = 0
        self.failures = 0
        self.attempts = 0
        self.next_attempt = 0.0
        self.last_post = time.monotonic()
        self.recorded_status = ""
        # Notifications waiting for their focus (not folded, or not visible to the owner
        # yet: 7): the next look is due when any view changes, not the notifier's.
        self.holding = False
        self.held_looks = 0  # consecutive looks that held something back
        self.client = httpx.Client(timeout=sender.config.timeout_s)

    def step(self, now: float) -> bool:
        """One look at the subscription; False when it is gone (off or unknown)."""
        self.holding = False
        state = load_state(self.sender.system.store, self.sid)
        if state is None or state["status"] == "off":
            return state is None  # not folded yet: keep looking; off: done
        self.delivered = max(self.delivered, state["delivered"])
        if now < self.next_attempt:
            return True
        try:
            self._act(state, now)
        except DeliveryFailed as exc:
            self._failed(state, now, str(exc))
        return True

    def _act(self, state: Json, now: float) -> None:
        if state["status"] == "requested" and self.recorded_status != "active":
            self._post(state, notification_bundle(state, "handshake", self.sender.config.base_url))
            self._succeeded(state)
        elif self.delivered < state["events"]:
            self._deliver(state)
        elif state["heartbeat_period_s"] and now - self.last_post >= state["heartbeat_period_s"]:
            self._post(state, notification_bundle(state, "heartbeat", self.sender.config.base_url))
            self._succeeded(state)

    def _deliver(self, state: Json) -> None:
        config = self.sender.config
        last = min(state["events"], self.delivered + config.max_count)
        store = self.sender.system.store
        due = load_events(store, self.sid, self.delivered + 1, last)
        events, resources = as_owner_sees(
            store, due, state.get("owner", ""), state["payload_content"], config.holds
        )
        self.holding = len(events) < len(due)
        if not events:
            return
        bundle = notification_bundle(
            state, "event-notification", config.base_url, events, resources, "active"
        )
        self.attempts += 1
        self._post(state, bundle)
        self.delivered = events[-1]["event_number"]
        self._record_delivered(self.delivered)
        self._succeeded(state)

    def _post(self, state: Json, bundle: Json) -> None:
        body = json.dumps(bundle, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/fhir+json"}
        for header in state["headers"]:
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        if state["hmac_secret"]:
            headers[SIGNATURE_HEADER] = signature(state["hmac_secret"], body)
        try:
            pinned = self.sender.guard.check(state["endpoint"])
        except EndpointRefused as exc:
            self.last_post = time.monotonic()
            raise DeliveryFailed(f"endpoint refused: {exc}") from exc
        headers["Host"] = pinned.host_header
        extensions = {"sni_hostname": pinned.tls_server_name} if pinned.tls_server_name else {}
        try:
            answer = self.client.post(
                pinned.url, content=body, headers=headers, extensions=extensions
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}") from exc
        finally:
            self.last_post = time.monotonic()
        if not 200 <= answer.status_code < 300:
            raise DeliveryFailed(f"HTTP {answer.status_code}")

    def _succeeded(self, state: Json) -> None:
        self.failures = 0
        self.next_attempt = 0.0
        if state["status"] != "active" and self.recorded_status != "active":
            self._record_status("active", None)

    def _failed(self, state: Json, now: float, reason: str) -> None:
        self.failures += 1
        wait = backoff_s(
            self.failures, self.sender.config.retry_first_s, self.sender.config.retry_max_s
        )
        self.next_attempt = now + wait
        log.warning(
            "subscription %s: delivery after #%d failed (%s); retry in %.1f s",
            self.sid,
            self.delivered,
            reason,
            wait,
        )
        error = f"endpoint failed: {reason}"
        if self.recorded_status != "error" and state["status"] != "error":
            self._record_status("error", error)

    def _record_status(self, status: str, error: str | None) -> None:
        self._append(
            SUBSCRIPTION_STATUS_CHANGED,
            f"subscription-status:{self.sid}:{uuid.uuid4()}",
            {"status": status, "error": error},
        )
        self.recorded_status = status

    def _record_delivered(self, number: int) -> None:
        self._append(
            NOTIFICATION_DELIVERED,
            f"notification-delivered:{self.sid}:{number}",
            {"event_number": number, "attempts": self.attempts},
        )
        self.attempts = 0

    def _append(self, name: str, event_id: str, fields: Json) -> None:
        event = {"meta": system_meta(event_id), "subscription_id": self.sid, **fields}
        try:
            append_event(self.sender.system, SUBSCRIPTIONS, self.sid, name, event)
        except Exception:  # the delivery happened; the next success records past it
            log.exception("subscription %s: could not record %s", self.sid, name)

    def close(self) -> None:
        self.client.close()


class SubscriptionSender:
    """Serves every live rest-hook subscription, one thread each (see the module doc)."""

    def __init__(self, system: System, config: SenderConfig):
        self.system = system
        self.config = config
        self.guard = EndpointGuard(system.settings.subscription_endpoint_allowlist)
        self._threads: dict[str, threading.Thread] = {}

    def run(self, stop: threading.Event) -> None:
        """Find rest-hook subscriptions and start a worker for each new one, until `stop`."""
        while not stop.is_set():
            seen = VIEWS_APPLIED.seen(NOTIFIER)
            try:
                for _, sid in self.system.store.lookup(CHANNEL_INDEX, "rest-hook"):
                    self._ensure_worker(sid, stop)
            except Exception:  # a store outage: look again next round
                log.exception("subscription lookup failed")
            _pause(seen, self.config.poll_s, NOTIFIER)

    def _ensure_worker(self, sid: str, stop: threading.Event) -> None:
        thread = self._threads.get(sid)
        if thread is not None and thread.is_alive():
            return
        thread = threading.Thread(
            target=self._serve, args=(sid, stop), name=f"subscription-{sid[:8]}", daemon=True
        )
        self._threads[sid] = thread
        thread.start()

    def _serve(self, sid: str, stop: threading.Event) -> None:
        worker = _Worker(self, sid)
        try:
            while not stop.is_set():
                seen = {p: VIEWS_APPLIED.seen(p) for p in (NOTIFIER, VIEWS_APPLIED.ANY)}
                try:
                    if not worker.step(time.monotonic()):
                        return
                except Exception:  # e.g. the store is down: the next round retries
                    log.exception("subscription %s: round failed", sid)
                self._await_next_look(worker, seen, stop)
        finally:
            worker.close()

    def _await_next_look(
        self, worker: _Worker, seen: dict[str, int], stop: threading.Event
    ) -> None:
        """Until the notifier's next fold, or any processor's while the worker holds a
        notification for its focus (7); `seen` was taken before the worker's look."""
        worker.held_looks = worker.held_looks + 1 if worker.holding else 0
        awaited = VIEWS_APPLIED.ANY if worker.holding else NOTIFIER
        if worker.held_looks > HELD_LOOKS_AT_ONCE:
            stop.wait(HELD_LOOK_EVERY_S)
        _pause(seen[awaited], self.config.poll_s, awaited)


def _pause(seen: int, poll_s: float, processor: str) -> None:
    """Until `processor` of this process folds something new (the notifier: a notification
    numbered, a delivery recorded; any processor: perhaps a held focus written), or `poll_s`
    at most: a processor in another process (a region) is seen by the next look. `stop` is
    checked by the caller's loop after it."""
    VIEWS_APPLIED.wait(processor, seen, poll_s)
