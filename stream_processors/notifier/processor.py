"""The notifier as the runner sees it: matches trigger events against live subscriptions and
numbers each subscription's notifications.

Two steps, both in this one projection, with the log in between:
1. Match. For a trigger event (handover, unit status, signed read, patient link) `emit`
   reads the registry of live subscriptions and appends one `NotificationTriggered` per
   matching subscription to `fhir.subscriptions`, keyed by the subscription. Its event id
   derives from (subscription, source topic, source event id), so a re-fold (crash, rebuild)
   appends nothing new.
2. Number. Folding a subscription's stream, the n-th `NotificationTriggered` becomes
   `SubscriptionEvent` number n. The stream is one key, hence one partition, hence one total
   order: eventNumbers are a function of the log, identical on every rebuild, whichever
   order partitions of the trigger topics were read in.

Which events match a subscription: those the notifier folds after it folded the
subscription's `SubscriptionRequested` (the registry is updated in that same write; the
Subscription's status leaves nothing behind). `$status` answering `requested` or `active`
means later events are matched. Run one notifier instance (one consumer of its group): the
registry is one resource that triggers on every partition read.
"""

from __future__ import annotations

from typing import Any

from avro_schemas.catalogue import EVENT_TYPES, IDENTITY, INCIDENT, READING, SUBSCRIPTIONS
from stream_processors.notifier import topics as defs
from stream_processors.notifier.fold import (
    DELETED,
    REGISTRY,
    REQUESTED,
    STATE,
    SUBSCRIPTION_EVENTS,
    TRIGGERED,
    ecg_ref,
    event_ref,
    fold_ecg,
    fold_incident,
    fold_registry,
    fold_state,
    incident_ref,
    state_ref,
    subscription_resource,
)
from stream_processors.runner import Emitted
from viewstore.base import IndexEntry

Json = dict[str, Any]
Ref = tuple[str, str]

# key: channel type (rest-hook, websocket); subscriptions not `off`. The sender reads it.
CHANNEL_INDEX = "SubscriptionState.channel"
INCIDENT_EVENTS = frozenset(
    {
        defs.HANDOVER_SUBMITTED,
        defs.HANDOVER_ACCEPTED,
        defs.UNIT_STATUS_CHANGED,
        defs.PREALERT_RAISED,
    }
)
ECG_EVENTS = frozenset(
    {
        "goldenhour.ecg.ReadRequested",
        "goldenhour.reading.ReadClaimed",
        "goldenhour.reading.ReadReleased",
        defs.READ_REPORTED,
    }
)


def subscription_ref(subscription_id: str) -> Ref:
    return "Subscription", subscription_id


class NotifierProjection:
    name = "notifier"
    topics = [SUBSCRIPTIONS, INCIDENT, READING, IDENTITY]

    def refs(self, event_name: str, event: Json) -> list[Ref]:
        if event_name in SUBSCRIPTION_EVENTS:
            sid = event["subscription_id"]
            own = [state_ref(sid), subscription_ref(sid)]
            return own + [REGISTRY] if event_name in (REQUESTED, DELETED) else own
        if event_name in INCIDENT_EVENTS:
            return [REGISTRY, incident_ref(event["incident_id"])]
        if event_name in ECG_EVENTS:
            return [REGISTRY, ecg_ref(event["ecg_id"])]
        if event_name == defs.PATIENT_LINKED:
            return [REGISTRY]
        return []

    def fold(self, state: dict[Ref, Json], event_name: str, event: Json) -> dict[Ref, Json]:
        if event_name in SUBSCRIPTION_EVENTS:
            return self._fold_subscription(state, event_name, event)
        if event_name in (defs.HANDOVER_SUBMITTED, defs.PREALERT_RAISED):
            ref = incident_ref(event["incident_id"])
            context = fold_incident(state.get(ref), event)
            return {ref: context} if context else {}
        if event_name in ECG_EVENTS:
            ref = ecg_ref(event["ecg_id"])
            after = fold_ecg(state.get(ref), event_name, event)
            return {} if after == state.get(ref) else {ref: after}
        return {}

    def _fold_subscription(
        self, state: dict[Ref, Json], event_name: str, event: Json
    ) -> dict[Ref, Json]:
        sid = event["subscription_id"]
        before = state.get(state_ref(sid))
        after, notification = fold_state(before, event_name, event)
        out: dict[Ref, Json] = {}
        if after is not None:
            out[state_ref(sid)] = after
            resource = subscription_resource(after)
            if before is None or resource != subscription_resource(before):
                out[subscription_ref(sid)] = resource
        if notification is not None:
            out[event_ref(sid, notification["event_number"])] = notification
        if event_name in (REQUESTED, DELETED):
            registry = fold_registry(state.get(REGISTRY), event_name, event)
            if registry is not None:
                out[REGISTRY] = registry
        return out

    def emit(self, state: dict[Ref, Json], event_name: str, event: Json) -> list[Emitted]:
        registry = state.get(REGISTRY)
        if not registry or not registry["subscriptions"]:
            return []
        found = self._matches(state, event_name, event)
        out = []
        for sid, sub in registry["subscriptions"].items():
            hit = next(
                (
                    m
                    for m in found
                    if m.topic == sub["topic"] and defs.matches_filters(sub["filters"], m.values)
                ),
                None,
            )
            if hit is not None:
                out.append(_triggered(sid, hit, event_name, event))
        return out

    def _matches(self, state: dict[Ref, Json], event_name: str, event: Json) -> list[defs.Match]:
        if event_name in INCIDENT_EVENTS:
            context = state.get(incident_ref(event["incident_id"])) or {}
            return defs.match(event_name, event, context)
        if event_name == defs.READ_REPORTED:
            return _final_report(state.get(ecg_ref(event["ecg_id"])), event)
        if event_name == defs.PATIENT_LINKED:
            return defs.match(event_name, event, {})
        return []

    def index(self, resource: Json) -> list[IndexEntry]:
        if resource["resourceType"] != STATE or resource["status"] == "off":
            return []
        return [IndexEntry(CHANNEL_INDEX, resource["channel_type"], STATE, resource["id"])]


def _final_report(context: Json | None, event: Json) -> list[defs.Match]:
    """A ReadReported notifies only when the queue's lease rule accepts it as the report."""
    after = fold_ecg(context, defs.READ_REPORTED, event)
    if (context or {}).get("status") == "reported" or after["status"] != "reported":
        return []
    return [defs.report_match(event["ecg_id"], after["patient_ref"], after["site"])]


def _triggered(sid: str, hit: defs.Match, event_name: str, event: Json) -> Emitted:
    source_topic = EVENT_TYPES[event_name].topic
    meta = event["meta"]
    return Emitted(
        SUBSCRIPTIONS,
        sid,
        TRIGGERED,
        {
            "meta": {
                "event_id": f"notify:{sid}:{source_topic}:{meta['event_id']}",
                "occurred_at": meta["occurred_at"],
                "recorded_at": meta["recorded_at"],
                "source": {
                    "channel": "system",
                    "device_id": None,
                    "user_id": None,
                    "site_id": None,
                },
            },
            "subscription_id": sid,
            "topic": hit.topic,
            "focus": hit.focus,
            "source_topic": source_topic,
            "source_event_id": meta["event_id"],
            "trigger": event_name,
        },
    )
