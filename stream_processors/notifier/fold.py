"""The notifier's folds: pure functions of (state, event).

Three kinds of state, all internal view resources:
- `SubscriptionState` (id: the subscription id), folded from the subscription's own stream
  on `fhir.subscriptions` (one key, so one partition, so one total order): requested,
  status changes, every `NotificationTriggered` (the n-th one is eventNumber n, so numbers
  are the same on a rebuild), deliveries, deletion. It also renders the `Subscription`.
- `SubscriptionEvent` (id: uuid5 of subscription id + eventNumber): one per notification.
- The registry (`SubscriptionRegistry/all`): topic and filters of every live subscription,
  which the matcher reads for every trigger event. It changes only on create and delete.
- Match context: per incident the destination hospital (`NotifierIncident`), per ECG the
  queue's lease fields (`NotifierEcg`), so a report refused by the lease rule never notifies.
"""

from __future__ import annotations

import copy
import json

from avro_schemas.events import (
    NOTIFICATION_DELIVERED,
    NOTIFICATION_TRIGGERED,
    SUBSCRIPTION_DELETED,
    SUBSCRIPTION_REQUESTED,
    SUBSCRIPTION_STATUS_CHANGED,
)
from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.jurisdiction import compartments_of
from kernel.time import instant
from stream_processors.adapter import Ref
from stream_processors.diagnosis_queue.fold import fold_item as fold_queue_item
from stream_processors.diagnosis_queue.item import QueueItem

SUBSCRIPTION_EVENTS = frozenset(
    {
        SUBSCRIPTION_REQUESTED,
        SUBSCRIPTION_DELETED,
        NOTIFICATION_TRIGGERED,
        NOTIFICATION_DELIVERED,
        SUBSCRIPTION_STATUS_CHANGED,
    }
)

STATE = "SubscriptionState"
EVENT = "SubscriptionEvent"
REGISTRY: Ref = ("SubscriptionRegistry", "all")
INCIDENT_CONTEXT = "NotifierIncident"
ECG_CONTEXT = "NotifierEcg"
# What a served Subscription shows instead of a channel.header value: headers carry the
# subscriber's credentials (Authorization, API keys) and are write-only.
REDACTED = "[redacted]"
HMAC_SECRET = "https://goldenhour.example.org/fhir/StructureDefinition/subscription-hmac-secret"


def state_ref(subscription_id: str) -> Ref:
    return STATE, subscription_id


def event_ref(subscription_id: str, number: int) -> Ref:
    return EVENT, resource_id(EVENT, subscription_id, str(number))


def incident_ref(incident_id: str) -> Ref:
    return INCIDENT_CONTEXT, resource_id(INCIDENT_CONTEXT, incident_id)


def ecg_ref(ecg_id: str) -> Ref:
    return ECG_CONTEXT, resource_id(ECG_CONTEXT, ecg_id)


# -- a subscription's own stream ----------------------------------------------------------


def requested(event: Json) -> Json:
    """The state a `SubscriptionRequested` starts. A websocket subscription is active at
    once (the handshake happens when a client binds); a rest-hook one is `requested` until
    the sender's handshake succeeds."""
    return {
        "resourceType": STATE,
        "id": event["subscription_id"],
        "topic": event["topic"],
        "filters": dict(sorted(event["filters"].items())),
        "channel_type": event["channel_type"],
        "endpoint": event.get("endpoint") or "",
        "payload_content": event["payload_content"],
        "headers": list(event["headers"]),
        "heartbeat_period_s": event["heartbeat_period_s"],
        "hmac_secret": event.get("hmac_secret") or "",
        "resource": without_secrets(_loads(event["resource"])),
        "owner": owner_of(_loads(event["resource"])),
        "requested_at": instant(event["meta"]["recorded_at"]),
        "status": "active" if event["channel_type"] == "websocket" else "requested",
        "error": "",
        "events": 0,  # eventsSinceSubscriptionStart
        "delivered": 0,  # every notification up to this eventNumber was acknowledged
    }


def without_secrets(resource: Json) -> Json:
    """`resource` with every channel.header value replaced by REDACTED and the HMAC secret
    extension removed: what may be served, stored in a view or shown in a history."""
    doc = copy.deepcopy(resource)
    channel = doc.get("channel")
    if not isinstance(channel, dict):
        return doc
    if channel.get("header"):
        names = [str(h).partition(":")[0].strip() for h in channel["header"]]
        channel["header"] = [f"{name}: {REDACTED}" for name in names]
    extensions = [e for e in channel.get("extension", []) if e.get("url") != HMAC_SECRET]
    channel.pop("extension", None)
    if extensions:
        channel["extension"] = extensions
    return doc


def owner_of(resource: Json) -> str:
    """The owning organization's id, from the `org/<id>` compartment label; "" if none."""
    orgs = sorted(c[len("org/") :] for c in compartments_of(resource) if c.startswith("org/"))
    return orgs[0] if orgs else ""


def _loads(raw: str) -> Json:
    doc: Json = json.loads(raw)
    return doc


def fold_state(state: Json | None, event_name: str, event: Json) -> tuple[Json | None, Json | None]:
    """(new state or None if unchanged, new SubscriptionEvent or None). Events of a
    subscription never requested (or after its deletion, for triggers) change nothing."""
    if event_name == SUBSCRIPTION_REQUESTED:
        return (requested(event), None) if state is None else (None, None)
    if state is None or state["status"] == "off":
        return None, None
    if event_name == SUBSCRIPTION_DELETED:
        return {**state, "status": "off", "error": ""}, None
    if event_name == SUBSCRIPTION_STATUS_CHANGED:
        return _status(state, event), None
    if event_name == NOTIFICATION_DELIVERED:
        return _delivered(state, event), None
    if event_name == NOTIFICATION_TRIGGERED:
        return _triggered(state, event)
    return None, None


def _status(state: Json, event: Json) -> Json | None:
    status, error = event["status"], event.get("error") or ""
    if (state["status"], state["error"]) == (status, error):
        return None
    return {**state, "status": status, "error": error}


def _delivered(state: Json, event: Json) -> Json | None:
    number = min(int(event["event_number"]), state["events"])
    return None if number <= state["delivered"] else {**state, "delivered": number}


def _triggered(state: Json, event: Json) -> tuple[Json, Json]:
    number = state["events"] + 1
    notification = {
        "resourceType": EVENT,
        "id": event_ref(state["id"], number)[1],
        "subscription_id": state["id"],
        "event_number": number,
        "topic": event["topic"],
        "focus": event["focus"],
        "trigger": event["trigger"],
        "timestamp": instant(event["meta"]["recorded_at"]),
        "source_event_id": event["source_event_id"],
    }
    return {**state, "events": number}, notification


def subscription_resource(state: Json) -> Json:
    """The FHIR Subscription as served: what the client asked for, the server's status (and
    error), never the HMAC secret nor a header value (`without_secrets`, again here for
    states folded before headers were redacted). `meta.security` names the owner."""
    doc: Json = without_secrets(state["resource"])
    doc["id"] = state["id"]
    doc["status"] = state["status"]
    doc.pop("error", None)
    if state["error"]:
        doc["error"] = state["error"]
    return doc


# -- the registry -------------------------------------------------------------------------


def fold_registry(registry: Json | None, event_name: str, event: Json) -> Json | None:
    """Live subscriptions' topic and filters, or None when unchanged."""
    current = registry or {
        "resourceType": REGISTRY[0],
        "id": REGISTRY[1],
        "subscriptions": {},
    }
    subs = dict(current["subscriptions"])
    sid = event["subscription_id"]
    if event_name == SUBSCRIPTION_REQUESTED and sid not in subs:
        subs[sid] = {"topic": event["topic"], "filters": dict(sorted(event["filters"].items()))}
    elif event_name == SUBSCRIPTION_DELETED and sid in subs:
        del subs[sid]
    else:
        return None
    return {**current, "subscriptions": dict(sorted(subs.items()))}


# -- match context ------------------------------------------------------------------------


def fold_incident(context: Json | None, event: Json) -> Json | None:
    """The destination hospital of an incident, from its pre-alerts and handover."""
    destination = event.get("destination_id") or ""
    if not destination or (context or {}).get("destination") == destination:
        return None
    incident = event["incident_id"]
    return {
        "resourceType": INCIDENT_CONTEXT,
        "id": incident_ref(incident)[1],
        "incident_id": incident,
        "destination": destination,
    }


def fold_ecg(context: Json | None, event_name: str, event: Json) -> Json:
    """The queue's lease fields of one ECG, through the queue's own fold, plus the patient
    and sending site: what decides whether a ReadReported is the ECG's final report."""
    ctx = context or {
        "resourceType": ECG_CONTEXT,
        "id": ecg_ref(event["ecg_id"])[1],
        "ecg_id": event["ecg_id"],
        "requested": False,
        "status": "queued",
        "holder": "",
        "lease_until": "",
        "patient_ref": "",
        "site": "",
    }
    before = QueueItem(
        ecg_id=ctx["ecg_id"],
        requested=ctx["requested"],
        status=ctx["status"],
        holder=ctx["holder"],
        lease_until=ctx["lease_until"],
    )
    after = fold_queue_item(before, event_name, event)
    patient = ctx["patient_ref"] or event.get("patient_ref") or ""
    site = ctx["site"] or ((event.get("site") or {}).get("id") or "")
    return {
        **ctx,
        "requested": after.requested,
        "status": after.status,
        "holder": after.holder,
        "lease_until": after.lease_until,
        "patient_ref": patient,
        "site": site,
    }
