"""Issue 11, item 3: a Subscription belongs to the organization that created it.

Over real HTTP, with auth required, on each backend pair: hospital B cannot read, search,
delete, replay ($events), ask $status of, or bind (websocket) hospital A's subscription; it
gets the same 404 as for an id never created, and the refusal is in the access audit.
Channel header values (an Authorization the EMR's receiver checks) and the HMAC secret are
write-only: no answer and no notification body shows them, while the receiver (a real
HTTP server) still gets the header on every POST.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from typing import Any

import httpx
import pytest

from services.server import Server
from services.simulate.stemi_incident import stemi_incident
from tests.receivers import HookReceiver
from tests.tokens import bearer
from tests.waits import wait_until

Json = dict[str, Any]
HANDOVER_TOPIC = "https://goldenhour.example.org/fhir/SubscriptionTopic/handover"
SECRET_HEADER = "Authorization: Bearer emr-a-secret-4711"
SECRET_VALUE = "emr-a-secret-4711"
HMAC_VALUE = "hmac-secret-0815"
HMAC_URL = "https://goldenhour.example.org/fhir/StructureDefinition/subscription-hmac-secret"
COMPARTMENT = "https://goldenhour.example/fhir/CodeSystem/compartment"
CONTENT_URL = (  # Subscriptions Backport IG, written from the IG (not from our code)
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"
)


@pytest.fixture
def make_receivers() -> Iterator[Callable[[int], list[HookReceiver]]]:
    """`make(n)`: n more receivers, all stopped when the test ends."""
    with ExitStack() as stack:
        yield lambda n: [stack.enter_context(closing(HookReceiver())) for _ in range(n)]


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    with closing(HookReceiver()) as r:
        yield r


def hospital(server: Server, site: str) -> dict[str, str]:
    scopes = ["user/Subscription.read", "user/Subscription.write"]
    return bearer(server, "hospital", site, f"emr-{site}", scopes)


def subscription(channel: Json) -> Json:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "ambulances coming to hospital A",
        "criteria": HANDOVER_TOPIC,
        "channel": {"payload": "application/fhir+json", **channel},
    }


def create(client: httpx.Client, headers: dict[str, str], doc: Json) -> str:
    answer = client.post("/fhir/Subscription", json=doc, headers=headers)
    assert answer.status_code == 201, answer.text
    sid = str(answer.json()["id"])
    wait_until(
        lambda: client.get(f"/fhir/Subscription/{sid}", headers=headers).status_code == 200,
        "the notifier's view",
    )
    return sid


def audit_events(client: httpx.Client, admin: dict[str, str], agent: str) -> list[Json]:
    answer = client.get(f"/fhir/AuditEvent?agent={agent}&_count=500", headers=admin)
    assert answer.status_code == 200, answer.text
    return [e["resource"] for e in answer.json().get("entry", [])]


@pytest.fixture
def secured(make_server: Callable[..., Server]) -> Server:
    return make_server(
        auth_required=True,
        auth_dev_issuer=True,
        rate_limit_per_s=0,
        subscription_poll_s=0.05,
        subscription_endpoint_allowlist=["127.0.0.1/32"],  # the receiver is on loopback
    )


def test_another_hospital_gets_404_for_every_operation_and_the_refusal_is_audited(
    secured: Server,
) -> None:
    client = httpx.Client(base_url=secured.base_url, timeout=30)
    a, b = hospital(secured, "hospital-a"), hospital(secured, "hospital-b")
    admin = bearer(secured, "admin", "county", "ops-1", ["system/*.*"])
    sid = create(client, a, subscription({"type": "websocket"}))
    never = "00000000-0000-4000-8000-000000000000"
    calls = [
        ("GET", "/fhir/Subscription/{}"),
        ("GET", "/fhir/Subscription/{}/$status"),
        ("GET", "/fhir/Subscription/{}/$events"),
        ("GET", "/fhir/Subscription/{}/$get-ws-binding-token"),
        ("POST", "/fhir/Subscription/{}/$get-ws-binding-token"),
        ("DELETE", "/fhir/Subscription/{}"),
    ]
    for method, path in calls:
        theirs = client.request(method, path.format(sid), headers=b)
        unknown = client.request(method, path.format(never), headers=b)
        assert theirs.status_code == 404, (method, path, theirs.text)
        assert theirs.headers["content-type"].startswith("application/fhir+json")
        issue = theirs.json()["issue"][0]
        assert issue["code"] == unknown.json()["issue"][0]["code"] == "not-found"
        # the same words as for an id never created, but for the id itself
        assert issue["diagnostics"].replace(sid, "X") == unknown.json()["issue"][0][
            "diagnostics"
        ].replace(never, "X")
    # B's DELETE changed nothing: A still has it, active, and can bind it
    assert client.get(f"/fhir/Subscription/{sid}", headers=a).json()["status"] == "active"
    assert client.get(f"/fhir/Subscription/{sid}/$get-ws-binding-token", headers=a).is_success
    assert client.get(f"/fhir/Subscription/{sid}", headers=admin).status_code == 200
    # searches list only one's own
    mine = client.get("/fhir/Subscription", headers=a).json()
    assert [e["resource"]["id"] for e in mine["entry"]] == [sid]
    assert client.get("/fhir/Subscription", headers=b).json()["total"] == 0
    everyone = client.get("/fhir/Subscription", headers=admin).json()
    assert sid in [e["resource"]["id"] for e in everyone["entry"]]

    # each refusal is audited, with its reason
    def refusals() -> list[Json]:
        return [
            e
            for e in audit_events(client, admin, "emr-hospital-b")
            if sid in json.dumps(e) and "another organization" in e.get("outcomeDesc", "")
        ]

    refused = wait_until(lambda: len(found := refusals()) >= len(calls) and found, "the audit")
    assert all(e["outcome"] == "4" for e in refused)


def test_the_owner_is_the_token_s_organization_not_the_body_s(secured: Server) -> None:
    client = httpx.Client(base_url=secured.base_url, timeout=30)
    a, b = hospital(secured, "hospital-a"), hospital(secured, "hospital-b")
    doc = subscription({"type": "websocket"})
    doc["meta"] = {"security": [{"system": COMPARTMENT, "code": "org/hospital-b"}]}
    sid = create(client, a, doc)
    served = client.get(f"/fhir/Subscription/{sid}", headers=a).json()
    assert served["meta"]["security"] == [{"system": COMPARTMENT, "code": "org/hospital-a"}]
    assert client.get(f"/fhir/Subscription/{sid}", headers=b).status_code == 404


def test_header_values_and_hmac_secret_are_never_served_but_are_sent(
    secured: Server, receiver: HookReceiver
) -> None:
    client = httpx.Client(base_url=secured.base_url, timeout=30)
    a = hospital(secured, "hospital-a")
    admin = bearer(secured, "admin", "county", "ops-1", ["system/*.*"])
    channel = {
        "type": "rest-hook",
        "endpoint": receiver.url,
        "header": [SECRET_HEADER],
        "extension": [{"url": HMAC_URL, "valueString": HMAC_VALUE}],
    }
    created = client.post("/fhir/Subscription", json=subscription(channel), headers=a)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    wait_until(lambda: receiver.posts, "the handshake")
    answers = [
        created,
        client.get(f"/fhir/Subscription/{sid}", headers=a),
        client.get("/fhir/Subscription", headers=a),
        client.get(f"/fhir/Subscription/{sid}/$status", headers=a),
        client.get(f"/fhir/Subscription/{sid}/$events", headers=a),
        client.get(f"/fhir/Subscription/{sid}/_history", headers=a),
        client.get("/fhir/_history?_count=500", headers=admin),
    ]
    for answer in answers:
        assert SECRET_VALUE not in answer.text, answer.request.url
        assert HMAC_VALUE not in answer.text, answer.request.url
    served = answers[1].json()
    assert served["channel"]["header"] == ["Authorization: [redacted]"]
    headers, body = receiver.posts[0]
    assert headers["Authorization"] == "Bearer emr-a-secret-4711"  # the receiver's credential
    assert SECRET_VALUE.encode() not in body and HMAC_VALUE.encode() not in body


def test_a_subscriber_is_never_sent_another_hospitals_handover(
    secured: Server, make_receivers: Callable[[int], list[HookReceiver]]
) -> None:
    """Hospital B subscribes to every handover, full resources; an ambulance hands over to
    hospital A. B's receiver gets the numbered notification (no gap) but neither the
    Composition nor its id; A's receiver gets the Composition itself."""
    to_a, to_b = make_receivers(2)
    client = httpx.Client(base_url=secured.base_url, timeout=30)
    a, b = hospital(secured, "hospital-a"), hospital(secured, "hospital-b")
    full = {"type": "rest-hook", "payload": "application/fhir+json"}
    for headers, receiver in ((a, to_a), (b, to_b)):
        doc = subscription({**full, "endpoint": receiver.url})
        doc["channel"]["_payload"] = {
            "extension": [{"url": CONTENT_URL, "valueCode": "full-resource"}]
        }
        create(client, headers, doc)
    crew = bearer(secured, "crew", "station-a", "crew-1", ["user/Encounter.write"])
    events = stemi_incident("inc-sub-1", station_id="station-a", destination_id="hospital-a")
    batch = {"expected_version": 0, "device_id": "tab-1", "events": events}
    answer = client.post("/ingest/incidents/inc-sub-1/events", json=batch, headers=crew)
    assert answer.status_code == 202, answer.text

    def notifications(r: HookReceiver) -> list[Json]:
        bundles = [json.loads(body) for _, body in r.posts if body]
        return [
            b
            for b in bundles
            if any(
                p.get("valueCode") == "event-notification"
                for p in b["entry"][0]["resource"]["parameter"]
            )
        ]

    got_a = wait_until(lambda: notifications(to_a), "hospital A's notification")
    got_b = wait_until(lambda: notifications(to_b), "hospital B's notification")
    compositions = [e["resource"] for n in got_a for e in n["entry"][1:] if "resource" in e]
    assert [c["resourceType"] for c in compositions] == ["Composition"]
    composition_id = compositions[0]["id"]
    sent_to_b = json.dumps(got_b)
    assert composition_id not in sent_to_b and "Composition" not in sent_to_b
    assert all(len(n["entry"]) == 1 for n in got_b)  # the status only: no focus entry
