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

from avro_schemas.catalogue import EVENT_TYPES, IDENTITY, INCIDENT, READING, SUBSCRIPTIONS
from avro_schemas.events import (
    HANDOVER_ACCEPTED,
    HANDOVER_SUBMITTED,
    NOTIFICATION_TRIGGERED,
    PATIENT_LINKED,
    PRE_ALERT_RAISED,
    READ_AMENDED,
    READ_CLAIMED,
    READ_RELEASED,
    READ_REPORTED,
    READ_REQUESTED,
    SUBSCRIPTION_DELETED,
    SUBSCRIPTION_REQUESTED,
    UNIT_STATUS_CHANGED,
)
from kernel.jsontypes import Json
from stream_processors.adapter import Processor, Ref, State, Step, by_name, no_change
from stream_processors.notifier import topics as defs
from stream_processors.notifier.fold import (
    REGISTRY,
    STATE,
    SUBSCRIPTION_EVENTS,
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

# key: channel type (rest-hook, websocket); subscriptions not `off`. The sender reads it.
CHANNEL_INDEX = "SubscriptionState.channel"
# key: "org/<owner id>" (the owner's subscriptions, `off` ones too) and ALL_OWNERS (every
# subscription, for admin): what `GET /fhir/Subscription` lists.
OWNER_INDEX = "SubscriptionState.owner"
ALL_OWNERS = "*"
INCIDENT_EVENTS = frozenset(
    {
        HANDOVER_SUBMITTED,
        HANDOVER_ACCEPTED,
        UNIT_STATUS_CHANGED,
        PRE_ALERT_RAISED,
    }
)
ECG_EVENTS = frozenset(
    {
        READ_REQUESTED,
        READ_CLAIMED,
        READ_RELEASED,
        READ_REPORTED,
        READ_AMENDED,
    }
)


def subscription_ref(subscription_id: str) -> Ref:
    return "Subscription", subscription_id


def _subscription_refs(event: Json) -> list[Ref]:
    sid = event["subscription_id"]
    return [state_ref(sid), subscription_ref(sid)]


def _registry_change_refs(event: Json) -> list[Ref]:
    return [*_subscription_refs(event), REGISTRY]


def _incident_refs(event: Json) -> list[Ref]:
    return [REGISTRY, incident_ref(event["incident_id"])]


def _ecg_refs(event: Json) -> list[Ref]:
    return [REGISTRY, ecg_ref(event["ecg_id"])]


def _registry_refs(event: Json) -> list[Ref]:
    return [REGISTRY]


def _fold_subscription(state: State, event_name: str, event: Json) -> dict[Ref, Json]:
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
    if event_name in (SUBSCRIPTION_REQUESTED, SUBSCRIPTION_DELETED):
        registry = fold_registry(state.get(REGISTRY), event_name, event)
        if registry is not None:
            out[REGISTRY] = registry
    return out


def _fold_incident(state: State, event: Json) -> dict[Ref, Json]:
    ref = incident_ref(event["incident_id"])
    context = fold_incident(state.get(ref), event)
    return {ref: context} if context else {}


def _fold_ecg(state: State, event_name: str, event: Json) -> dict[Ref, Json]:
    ref = ecg_ref(event["ecg_id"])
    after = fold_ecg(state.get(ref), event_name, event)
    return {} if after == state.get(ref) else {ref: after}


def _emit(state: State, event_name: str, event: Json) -> list[Emitted]:
    registry = state.get(REGISTRY)
    if not registry or not registry["subscriptions"]:
        return []
    found = _matches(state, event_name, event)
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


def _matches(state: State, event_name: str, event: Json) -> list[defs.Match]:
    if event_name in INCIDENT_EVENTS:
        context = state.get(incident_ref(event["incident_id"])) or {}
        return defs.match(event_name, event, context)
    if event_name == READ_REPORTED:
        return _final_report(state.get(ecg_ref(event["ecg_id"])), event)
    if event_name == READ_AMENDED:
        return _amended_report(state.get(ecg_ref(event["ecg_id"])), event)
    if event_name == PATIENT_LINKED:
        return defs.match(event_name, event, {})
    return []


def _index(resource: Json) -> list[IndexEntry]:
    if resource["resourceType"] != STATE:
        return []
    rid = resource["id"]
    out = [
        IndexEntry(OWNER_INDEX, owner_key(resource.get("owner", "")), STATE, rid),
        IndexEntry(OWNER_INDEX, ALL_OWNERS, STATE, rid),
    ]
    if resource["status"] != "off":
        out.append(IndexEntry(CHANNEL_INDEX, resource["channel_type"], STATE, rid))
    return out


# Trigger events load the registry (and their context) so `emit` can match them; only
# some of them change a document.
FOLDS: dict[str, Step] = {
    **by_name(
        [SUBSCRIPTION_REQUESTED, SUBSCRIPTION_DELETED], _registry_change_refs, _fold_subscription
    ),
    **by_name(
        SUBSCRIPTION_EVENTS - {SUBSCRIPTION_REQUESTED, SUBSCRIPTION_DELETED},
        _subscription_refs,
        _fold_subscription,
    ),
    HANDOVER_SUBMITTED: Step(_incident_refs, _fold_incident),
    PRE_ALERT_RAISED: Step(_incident_refs, _fold_incident),
    HANDOVER_ACCEPTED: Step(_incident_refs, no_change),
    UNIT_STATUS_CHANGED: Step(_incident_refs, no_change),
    **by_name(ECG_EVENTS, _ecg_refs, _fold_ecg),
    PATIENT_LINKED: Step(_registry_refs, no_change),
}
PROCESSOR = Processor(
    name="notifier",
    topics=[SUBSCRIPTIONS, INCIDENT, READING, IDENTITY],
    folds=FOLDS,
    index=_index,
    emit=_emit,
)


def owner_key(owner: str) -> str:
    """OWNER_INDEX key of an owner's subscriptions (never empty: Cassandra keys cannot be)."""
    return f"org/{owner}"


def _final_report(context: Json | None, event: Json) -> list[defs.Match]:
    """A ReadReported notifies only when the queue's lease rule accepts it as the report."""
    after = fold_ecg(context, READ_REPORTED, event)
    if (context or {}).get("status") == "reported" or after["status"] != "reported":
        return []
    return [defs.report_match(event["ecg_id"], after["patient_ref"], after["site"])]


def _amended_report(context: Json | None, event: Json) -> list[defs.Match]:
    """An addendum to a signed read notifies again: the report is now `amended`. Before the
    signature the queue refuses an addendum, and so does this."""
    if context is None or context.get("status") != "reported":
        return []
    return [defs.report_match(event["ecg_id"], context["patient_ref"], context["site"])]


def _triggered(sid: str, hit: defs.Match, event_name: str, event: Json) -> Emitted:
    source_topic = EVENT_TYPES[event_name].topic
    meta = event["meta"]
    return Emitted(
        SUBSCRIPTIONS,
        sid,
        NOTIFICATION_TRIGGERED,
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
