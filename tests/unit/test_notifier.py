"""The notifier's pure parts: matching, numbering, notification Bundles, Subscription
validation, retry schedule and binding tokens (no I/O)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.subscription import Subscription
from fhir.resources.R4B.subscriptiontopic import SubscriptionTopic

from avro_schemas.events import NOTIFICATION_DELIVERED as DELIVERED
from avro_schemas.events import NOTIFICATION_TRIGGERED as TRIGGERED
from avro_schemas.events import SUBSCRIPTION_DELETED as DELETED
from avro_schemas.events import SUBSCRIPTION_REQUESTED as REQUESTED
from avro_schemas.events import SUBSCRIPTION_STATUS_CHANGED as STATUS_CHANGED
from kernel.jsontypes import Json
from services.outcome import FhirError
from services.subscriptions.bundle import notification_bundle, status_bundle
from services.subscriptions.request import (
    FILTER_CRITERIA,
    HMAC_SECRET,
    PAYLOAD_CONTENT,
    subscription_requested,
)
from services.subscriptions.sender import backoff_s, signature
from services.subscriptions.websocket import TokenSigner
from stream_processors.notifier.fold import (
    REGISTRY,
    fold_state,
    state_ref,
)
from stream_processors.notifier.processor import PROCESSOR
from stream_processors.notifier.topics import (
    ECG_REPORT_FINAL,
    ENCOUNTER_STATUS,
    HANDOVER,
    TOPICS,
    to_fhir,
)

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
BASE = "http://fhir.test/fhir"
COMPOSITION = {
    "resourceType": "Composition",
    "id": "c1",
    "meta": {"versionId": "2"},
    "status": "final",
    "type": {"text": "handover"},
    "date": "2026-11-23T09:05:00Z",
    "author": [{"display": "crew"}],
    "title": "Handover",
}


def meta(event_id: str, minute: int = 0) -> Json:
    at = T0 + dt.timedelta(minutes=minute)
    return {
        "event_id": event_id,
        "occurred_at": at,
        "recorded_at": at,
        "source": {"channel": "http", "device_id": None, "user_id": None, "site_id": None},
    }


def subscription_doc(topic: str = HANDOVER.url, **channel: Any) -> Json:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "incoming ambulances",
        "criteria": topic,
        "_criteria": {
            "extension": [
                {"url": FILTER_CRITERIA, "valueString": "Composition?destination=county-hospital"}
            ]
        },
        "channel": {
            "type": "rest-hook",
            "endpoint": "https://emr.test/hook",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "id-only"}]},
            "header": ["Authorization: Bearer abc"],
            **channel,
        },
    }


def requested(sid: str = "sub-1", doc: Json | None = None) -> Json:
    return subscription_requested(doc or subscription_doc(), sid, T0)


def fold_all(events: list[tuple[str, Json]]) -> dict[tuple[str, str], Json]:
    """Fold through the projection as the runner would: state in, changes merged."""
    projection = PROCESSOR
    views: dict[tuple[str, str], Json] = {}
    for name, event in events:
        state = {ref: views[ref] for ref in projection.refs(name, event) if ref in views}
        views.update(projection.fold(state, name, event))
    return views


def triggered(sid: str, n: int) -> tuple[str, Json]:
    return TRIGGERED, {
        "meta": meta(f"notify:{sid}:{n}", n),
        "subscription_id": sid,
        "topic": HANDOVER.url,
        "focus": f"Composition/c{n}",
        "source_topic": "ems.incident",
        "source_event_id": f"e{n}",
        "trigger": "goldenhour.ems.HandoverSubmitted",
    }


def handover(incident: str, destination: str, minute: int = 5) -> Json:
    return {
        "meta": meta(f"{incident}-handover", minute),
        "incident_id": incident,
        "destination_id": destination,
        "atmist": {},
        "narrative": None,
    }


# -- numbering ------------------------------------------------------------------------------


def test_fold__the_nth_trigger_of_a_subscription_is_event_number_n() -> None:
    views = fold_all([(REQUESTED, requested()), *(triggered("sub-1", n) for n in (1, 2, 3))])
    state = views[state_ref("sub-1")]
    assert state["events"] == 3
    numbers = sorted(v["event_number"] for (t, _), v in views.items() if t == "SubscriptionEvent")
    assert numbers == [1, 2, 3]


def test_fold__numbers_do_not_depend_on_how_partitions_interleave() -> None:
    one = [(REQUESTED, requested("sub-1")), *(triggered("sub-1", n) for n in range(1, 5))]
    two = [(REQUESTED, requested("sub-2")), *(triggered("sub-2", n) for n in range(1, 4))]
    interleaved = [e for pair in zip(two, one, strict=False) for e in pair] + one[len(two) :]

    def dump(views: dict[tuple[str, str], Json]) -> str:
        return json.dumps(sorted((list(k), v) for k, v in views.items()), default=str)

    assert dump(fold_all(one + two)) == dump(fold_all(interleaved))


def test_fold__triggers_after_deletion_are_not_numbered() -> None:
    deleted = (DELETED, {"meta": meta("del"), "subscription_id": "sub-1"})
    views = fold_all(
        [(REQUESTED, requested()), triggered("sub-1", 1), deleted, triggered("sub-1", 2)]
    )
    state = views[state_ref("sub-1")]
    assert (state["status"], state["events"]) == ("off", 1)
    assert views[("Subscription", "sub-1")]["status"] == "off"
    assert views[REGISTRY]["subscriptions"] == {}


def test_fold__deliveries_and_status_changes_are_folded_never_past_the_last_event() -> None:
    state, _ = fold_state(None, REQUESTED, requested())
    assert state is not None and state["status"] == "requested"
    for n in (1, 2):
        state, _ = fold_state(state, *triggered("sub-1", n))
        assert state is not None
    delivered = {"meta": meta("d"), "subscription_id": "sub-1", "event_number": 9, "attempts": 1}
    state, _ = fold_state(state, DELIVERED, delivered)
    assert state is not None and state["delivered"] == 2
    error = {"meta": meta("s"), "subscription_id": "sub-1", "status": "error", "error": "HTTP 500"}
    state, _ = fold_state(state, STATUS_CHANGED, error)
    assert state is not None and (state["status"], state["error"]) == ("error", "HTTP 500")


# -- matching -------------------------------------------------------------------------------


def registered(*subs: tuple[str, Json]) -> dict[tuple[str, str], Json]:
    return fold_all([(REQUESTED, requested(sid, doc)) for sid, doc in subs])


def test_emit__a_handover_for_the_filtered_hospital_triggers_once_with_a_derived_id() -> None:
    views = registered(("sub-1", subscription_doc()))
    projection = PROCESSOR
    event = handover("inc-1", "county-hospital")
    out = projection.emit({REGISTRY: views[REGISTRY]}, "goldenhour.ems.HandoverSubmitted", event)
    assert [(e.topic, e.key, e.name) for e in out] == [("fhir.subscriptions", "sub-1", TRIGGERED)]
    assert out[0].event["meta"]["event_id"] == "notify:sub-1:ems.incident:inc-1-handover"
    assert out[0].event["focus"].startswith("Composition/")


def test_emit__a_handover_for_another_hospital_does_not_trigger() -> None:
    views = registered(("sub-1", subscription_doc()))
    event = handover("inc-1", "other-hospital")
    state = {REGISTRY: views[REGISTRY]}
    assert PROCESSOR.emit(state, "goldenhour.ems.HandoverSubmitted", event) == []


def test_emit__unit_status_matches_destination_from_an_earlier_prealert() -> None:
    doc = subscription_doc(ENCOUNTER_STATUS.url)
    doc["_criteria"]["extension"][0]["valueString"] = "Encounter?destination=county-hospital"
    views = registered(("sub-1", doc))
    prealert = {
        "meta": meta("pa"),
        "incident_id": "inc-1",
        "kind": "STEMI",
        "destination_id": "county-hospital",
    }
    views.update(fold_all([("goldenhour.ems.PreAlertRaised", prealert)]))
    status = {
        "meta": meta("st"),
        "incident_id": "inc-1",
        "unit_id": "A1",
        "status": "AT_DESTINATION",
    }
    projection = PROCESSOR
    refs = projection.refs("goldenhour.ems.UnitStatusChanged", status)
    state = {ref: views[ref] for ref in refs if ref in views}
    assert len(projection.emit(state, "goldenhour.ems.UnitStatusChanged", status)) == 1


def reading(name: str, reader: str, minute: int, **fields: Any) -> tuple[str, Json]:
    return name, {"meta": meta(f"{name}-{reader}-{minute}", minute), "ecg_id": "ecg-1", **fields}


READ_REPORT = {"interpretation": "STEMI", "codes": [], "signed_at": T0, "patient_ref": "Patient/p"}


def claimed_read() -> Callable[[str, Json], list[Any]]:
    """sub-1 subscribes to final ECG reports; ecg-1's read is requested, then claimed by
    dr-a (a 30 min lease). What the processor emits for each next event, folded after."""
    doc = subscription_doc(ECG_REPORT_FINAL.url)
    doc["_criteria"]["extension"] = []
    views = registered(("sub-1", doc))
    lease = T0 + dt.timedelta(minutes=30)
    requested_read = reading(
        "goldenhour.ecg.ReadRequested",
        "x",
        0,
        reading_centre_id="c",
        site={"id": "clinic-a"},
        patient_ref="Patient/p",
    )
    claimed = reading(
        "goldenhour.reading.ReadClaimed", "dr-a", 1, reader_id="dr-a", lease_until=lease
    )
    views.update(fold_all([requested_read, claimed]))

    def emitted(name: str, event: Json) -> list[Any]:
        state = {ref: views[ref] for ref in PROCESSOR.refs(name, event) if ref in views}
        out = PROCESSOR.emit(state, name, event)
        views.update(PROCESSOR.fold(state, name, event))
        return out

    return emitted


def test_emit__only_the_report_the_lease_rule_accepts_is_final() -> None:
    emitted = claimed_read()
    signed = "goldenhour.reading.ReadReported"
    assert emitted(*reading(signed, "dr-b", 2, reader_id="dr-b", **READ_REPORT)) == []
    assert len(emitted(*reading(signed, "dr-a", 3, reader_id="dr-a", **READ_REPORT))) == 1
    assert emitted(*reading(signed, "dr-a", 4, reader_id="dr-a", **READ_REPORT)) == []


# -- Bundles and resources ------------------------------------------------------------------


def state_with_events(content: str) -> tuple[Json, list[Json]]:
    doc = subscription_doc()
    doc["channel"]["_payload"]["extension"][0]["valueCode"] = content
    views = fold_all(
        [(REQUESTED, requested(doc=doc)), triggered("sub-1", 1), triggered("sub-1", 2)]
    )
    events = sorted(
        (v for (t, _), v in views.items() if t == "SubscriptionEvent"),
        key=lambda e: int(e["event_number"]),
    )
    return views[state_ref("sub-1")], events


@pytest.mark.parametrize("content", ["empty", "id-only", "full-resource"])
def test_notification_bundle__is_a_valid_r4b_history_bundle_with_status_first(content: str) -> None:
    state, events = state_with_events(content)
    resources = {"Composition/c1": COMPOSITION}
    bundle = notification_bundle(state, "event-notification", BASE, events, resources)
    Bundle.model_validate(bundle)  # raises on an invalid Bundle
    status = Parameters.model_validate(bundle["entry"][0]["resource"])
    params = {p.name: p for p in status.parameter or []}
    assert bundle["type"] == "history"
    assert params["type"].valueCode == "event-notification"
    assert params["events-since-subscription-start"].valueString == "2"
    notified = [p for p in status.parameter or [] if p.name == "notification-event"]
    assert [p.part[0].valueString for p in notified if p.part] == ["1", "2"]
    focus = [e["fullUrl"] for e in bundle["entry"][1:]]
    assert focus == (
        [] if content == "empty" else [f"{BASE}/Composition/c1", f"{BASE}/Composition/c2"]
    )
    with_resource = [e for e in bundle["entry"][1:] if "resource" in e]
    assert len(with_resource) == (1 if content == "full-resource" else 0)


def test_status_bundle__is_a_searchset_of_a_query_status() -> None:
    state, _ = state_with_events("id-only")
    bundle = status_bundle(state, BASE)
    Bundle.model_validate(bundle)
    params = bundle["entry"][0]["resource"]["parameter"]
    assert {"name": "type", "valueCode": "query-status"} in params


def test_topics__are_valid_r4b_subscription_topics() -> None:
    for topic in TOPICS.values():
        SubscriptionTopic.model_validate(to_fhir(topic))


def test_request__keeps_filters_headers_and_hides_the_secret() -> None:
    doc = subscription_doc(extension=[{"url": HMAC_SECRET, "valueString": "s3cret"}])
    event = requested(doc=doc)
    assert event["filters"] == {"destination": "county-hospital"}
    assert event["headers"] == ["Authorization: Bearer abc"]
    assert event["hmac_secret"] == "s3cret"
    assert "s3cret" not in event["resource"]
    Subscription.model_validate(json.loads(event["resource"]))


@pytest.mark.parametrize(
    "change",
    [
        {"criteria": "https://elsewhere/SubscriptionTopic/x"},
        {"_criteria": {"extension": [{"url": FILTER_CRITERIA, "valueString": "Composition?x=1"}]}},
        {
            "_criteria": {
                "extension": [{"url": FILTER_CRITERIA, "valueString": "Patient?destination=a"}]
            }
        },
        {"channel": {"type": "email", "endpoint": "mailto:a@b"}},
        {"channel": {"type": "rest-hook", "endpoint": "ftp://emr.test"}},
        {"channel": {"type": "rest-hook", "endpoint": "https://e", "header": ["no colon"]}},
        {"reason": None},
    ],
)
def test_request__refuses_what_it_cannot_serve(change: Json) -> None:
    doc = {**subscription_doc(), **change}
    with pytest.raises(FhirError) as refused:
        requested(doc={k: v for k, v in doc.items() if v is not None})
    assert refused.value.status == 422


# -- delivery helpers -----------------------------------------------------------------------


def test_backoff__doubles_to_the_cap_and_never_gives_up_within_24_hours() -> None:
    waits = [backoff_s(n, 1.0, 300.0) for n in range(1, 400)]
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert max(waits) == 300.0
    assert sum(waits) > 24 * 3600  # still retrying, at the cap, a day later


def test_signature__is_hmac_sha256_of_the_body() -> None:
    # RFC 4231 test case 2
    body = b"what do ya want for nothing?"
    expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert signature("Jefe", body) == expected


def test_binding_token__binds_its_subscription_until_it_expires_and_resists_forgery() -> None:
    signer = TokenSigner("k")
    token, expires = signer.issue("sub-1", 1000.0, ttl_s=60)
    assert signer.verify(token, 1000.0) == "sub-1"
    assert signer.verify(token, expires + 1) is None
    assert signer.verify(token.replace("sub-1", "sub-2"), 1000.0) is None
    assert TokenSigner("other").verify(token, 1000.0) is None


def test_emit__an_addendum_to_a_signed_read_triggers_again_and_before_signing_not() -> None:
    emitted = claimed_read()
    addendum = {"addendum": "QTc 470 ms", "codes": [], "signed_at": T0}
    amended = "goldenhour.reading.ReadAmended"
    assert emitted(*reading(amended, "early", 2, reader_id="dr-a", **addendum)) == []
    signed = "goldenhour.reading.ReadReported"
    assert len(emitted(*reading(signed, "dr-a", 3, reader_id="dr-a", **READ_REPORT))) == 1
    (again,) = emitted(*reading(amended, "late", 4, reader_id="dr-b", **addendum))
    assert again.event["topic"] == ECG_REPORT_FINAL.url
    assert again.event["focus"].startswith("DiagnosticReport/")
    assert again.event["trigger"] == amended
