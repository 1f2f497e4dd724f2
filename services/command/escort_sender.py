"""Sends escort requests to the city traffic platform until it acknowledges them.

An event-sourced outbox like the HL7 report sender: the `escort` processor lists requested
escorts not yet acknowledged (`EscortItem.pending`); this sender posts each to the
platform's webhook (the contract below), and on a 202 with an ack id appends
`EscortAcknowledged` (event id derived from the escort, so recording twice is once), which
takes it out of the list. Delivery reasoning:

1. At least once: a request is posted until the platform answers 202 with an `ack_id`. The
   body carries our `escort_id` as its idempotency key (also in the `Idempotency-Key`
   header), so the platform can tell a resend from a new request.
2. Until the processor has folded our acknowledgement the item is still listed; the sender
   remembers what it recorded (in memory) and does not resend it meanwhile.
3. Backoff per escort, exponential from `traffic_retry_first_s` doubling to
   `traffic_retry_max_s`, kept in memory (a restart retries at once, which 1 makes safe).
   A refused connection, a timeout, a 5xx or a 4xx are all retried: a 4xx is logged as
   the platform's complaint, since an ambulance is still on the road.

The contract (README, "One-click escort"): `POST <traffic_escort_url>` with JSON
`{escort_id, unit_id, incident_id, from: {latitude, longitude, address}, to: {id,
latitude, longitude, address}, route: [{latitude, longitude}...], eta, priority, reason,
callback_url}`; the platform answers `202 {"ack_id": "..."}` and later posts route updates
to `callback_url` (`POST /command/escorts/{escort_id}/updates`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from avro_schemas.catalogue import ESCORT
from avro_schemas.events import ESCORT_ACKNOWLEDGED
from kernel.jsontypes import Json
from services.ingest.submit import append_event
from services.system import System
from stream_processors.escort.published import ALL_KEY, PENDING_INDEX
from stream_processors.registry.published import organization

log = logging.getLogger("goldenhour.command.escort")

TIMEOUT_S = 10.0  # the platform answers at once (202) and plans later
POLL_S = 0.5  # how often pending escorts are looked at: an escort is urgent


@dataclass
class EscortSender:
    system: System
    url: str
    callback_base: str
    first_s: float = 2.0
    max_s: float = 60.0
    _next: dict[str, tuple[int, dt.datetime]] = field(default_factory=dict)
    _recorded: set[str] = field(default_factory=set)
    attempts: dict[str, int] = field(default_factory=dict)

    def pending(self) -> list[Json]:
        out = []
        for rtype, rid in self.system.store.lookup(PENDING_INDEX, ALL_KEY):
            stored = self.system.store.read(rtype, rid)
            if stored is not None:
                out.append(json.loads(stored.body))
        return [i for i in out if i["escort_id"] not in self._recorded]

    def deliver_pending(self, now: dt.datetime) -> int:
        """One round: post every pending escort that is not backing off; the count
        acknowledged."""
        done = 0
        for item in self.pending():
            failures, not_before = self._next.get(item["escort_id"], (0, now))
            if now < not_before:
                continue
            if self._deliver(item):
                done += 1
            else:
                wait = min(self.first_s * 2**failures, self.max_s)
                self._next[item["escort_id"]] = (failures + 1, now + dt.timedelta(seconds=wait))
        return done

    def _deliver(self, item: Json) -> bool:
        eid = item["escort_id"]
        self.attempts[eid] = self.attempts.get(eid, 0) + 1
        try:
            response = httpx.post(
                self.url,
                json=self.request_body(item),
                timeout=TIMEOUT_S,
                headers={"Idempotency-Key": eid},
            )
        except httpx.HTTPError as exc:
            log.warning("escort %s: traffic platform unreachable (%s)", eid, type(exc).__name__)
            return False
        ack = _ack_id(response)
        if ack is None:
            log.warning("escort %s: traffic platform answered %s", eid, response.status_code)
            return False
        self._record(item, ack)
        return True

    def request_body(self, item: Json) -> Json:
        """The webhook's JSON (the contract in the module docstring)."""
        to = _site(self.system, item["destination_id"])
        route = [p for p in [item["origin"], to] if p.get("latitude") is not None]
        return {
            "escort_id": item["escort_id"],
            "unit_id": item["unit_id"],
            "incident_id": item["incident_id"],
            "from": item["origin"],
            "to": {"id": item["destination_id"], **to},
            "route": [{"latitude": p["latitude"], "longitude": p["longitude"]} for p in route],
            "eta": item["eta"],
            "priority": item["priority"],
            "reason": item["reason"],
            "callback_url": f"{self.callback_base}/command/escorts/{item['escort_id']}/updates",
        }

    def _record(self, item: Json, ack_id: str) -> None:
        now = dt.datetime.now(dt.UTC)
        event = {
            "meta": {
                "event_id": f"{item['escort_id']}:acknowledged",
                "occurred_at": now,
                "recorded_at": now,
                "source": {
                    "channel": "traffic",
                    "device_id": None,
                    "user_id": None,
                    "site_id": None,
                },
            },
            "escort_id": item["escort_id"],
            "unit_id": item["unit_id"],
            "ack_id": ack_id,
            "attempts": self.attempts.get(item["escort_id"], 1),
        }
        append_event(self.system, ESCORT, item["unit_id"], ESCORT_ACKNOWLEDGED, event)
        self._recorded.add(item["escort_id"])
        log.info("escort %s acknowledged by the traffic platform (%s)", item["escort_id"], ack_id)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(POLL_S):
            try:
                self.deliver_pending(dt.datetime.now(dt.UTC))
            except Exception:  # the next round retries
                log.exception("escort round failed")


def _ack_id(response: httpx.Response) -> str | None:
    if response.status_code not in (200, 201, 202):
        return None
    try:
        ack = response.json().get("ack_id")
    except (ValueError, AttributeError):
        return None
    return str(ack) if ack else None


def _site(system: System, org_id: str) -> dict[str, Any]:
    found = organization(system.store, org_id)
    loc = (found.details.get("location") if found else None) or {}
    return {k: loc.get(k) for k in ("latitude", "longitude", "address")}
