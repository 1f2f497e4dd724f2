"""Notification Bundles of the R4 Subscriptions Backport IG (pure; no I/O).

A notification is a `history` Bundle whose first entry is the SubscriptionStatus, which in
R4 is a `Parameters` resource with the `backport-subscription-status-r4` profile
(subscription, topic, status, type, events-since-subscription-start, one
notification-event per event with event-number, timestamp and focus); then, per payload
content: nothing (`empty`), an entry naming the focus (`id-only`), or the focus resource
itself (`full-resource`). `$status` answers a `searchset` of the status alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from kernel.jsontypes import Json
from kernel.time import instant, now

STATUS_PROFILE = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-status-r4"
)
NOTIFICATION_PROFILE = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-notification-r4"
)
# handshake, heartbeat, event-notification, query-status, query-event
NOTIFICATION_TYPES = frozenset(
    {"handshake", "heartbeat", "event-notification", "query-status", "query-event"}
)


def notification_event(event: Json, content: str) -> Json:
    """One `notification-event` parameter; `empty` content names no focus."""
    parts: list[Json] = [
        {"name": "event-number", "valueString": str(event["event_number"])},
        {"name": "timestamp", "valueInstant": event["timestamp"]},
    ]
    if content != "empty" and event["focus"]:  # no focus: outside the owner's jurisdiction
        parts.append({"name": "focus", "valueReference": {"reference": event["focus"]}})
    return {"name": "notification-event", "part": parts}


def subscription_status(
    state: Json, kind: str, base: str, events: Sequence[Json] = (), status: str | None = None
) -> Json:
    """The SubscriptionStatus (R4: Parameters) of `state` for a notification of `kind`."""
    if kind not in NOTIFICATION_TYPES:
        raise ValueError(f"unknown notification type {kind!r}")
    params: list[Json] = [
        {
            "name": "subscription",
            "valueReference": {"reference": f"{base}/Subscription/{state['id']}"},
        },
        {"name": "topic", "valueCanonical": state["topic"]},
        {"name": "status", "valueCode": status or state["status"]},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(state["events"])},
        *(notification_event(e, state["payload_content"]) for e in events),
    ]
    if state.get("error"):
        params.append({"name": "error", "valueCodeableConcept": {"text": state["error"]}})
    return {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": params,
    }


def _status_entry(status: Json, state: Json) -> Json:
    return {
        "fullUrl": f"urn:uuid:{status['id']}",
        "resource": status,
        "request": {"method": "GET", "url": f"Subscription/{state['id']}/$status"},
        "response": {"status": "200"},
    }


def _focus_entry(base: str, focus: str, resource: Json | None) -> Json:
    """An entry naming the focus; with the resource when there is one (full-resource)."""
    entry: Json = {"fullUrl": f"{base}/{focus}"}
    if resource is not None:
        entry["resource"] = resource
    version = (resource or {}).get("meta", {}).get("versionId")
    entry["request"] = {"method": "PUT" if version not in (None, "1") else "POST", "url": focus}
    entry["response"] = {"status": "200" if version not in (None, "1") else "201"}
    return entry


def notification_bundle(
    state: Json,
    kind: str,
    base: str,
    events: Sequence[Json] = (),
    resources: Mapping[str, Json] | None = None,
    status: str | None = None,
) -> Json:
    """A notification Bundle (history) for `events` (in eventNumber order). `resources`
    maps a focus reference to its current resource, used for `full-resource` content; a
    focus without one is sent as a reference (it may not be in the view yet)."""
    status_resource = subscription_status(state, kind, base, events, status)
    entries = [_status_entry(status_resource, state)]
    content = state["payload_content"]
    if content != "empty":
        seen: set[str] = set()
        for event in events:
            focus = event["focus"]
            if not focus or focus in seen:
                continue  # one entry per resource; every event still names it
            seen.add(focus)
            resource = (resources or {}).get(focus) if content == "full-resource" else None
            entries.append(_focus_entry(base, focus, resource))
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [NOTIFICATION_PROFILE]},
        "type": "history",
        "timestamp": instant(now()),
        "entry": entries,
    }


def status_bundle(state: Json, base: str) -> Json:
    """`$status`: a searchset holding the SubscriptionStatus (type query-status)."""
    status = subscription_status(state, "query-status", base)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{status['id']}",
                "resource": status,
                "search": {"mode": "match"},
            }
        ],
    }
