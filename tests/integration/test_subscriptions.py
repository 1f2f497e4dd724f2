"""FHIR Subscriptions over real HTTP and websockets, on each backend pair: a rest-hook
receiver that fails, then is down, then returns gets every notification in eventNumber
order; a websocket client that was away recovers the gap with `$events`.

`GOLDENHOUR_TEST_RECEIVER_DOWN_S` sets how long the receiver's port stays closed (default
3 s; the retry schedule, capped here at 1 s, makes any down time work the same way: 600
gives the issue's 10 minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import websocket

from kernel.jsontypes import Json
from services.server import Server
from services.simulate.stemi_incident import stemi_incident
from services.subscriptions.request import FILTER_CRITERIA, HMAC_SECRET, PAYLOAD_CONTENT
from services.subscriptions.sender import SIGNATURE_HEADER
from stream_processors.fhir_projector.incident.handover import composition_id
from stream_processors.notifier.topics import HANDOVER
from tests.conftest import free_port

DOWN_S = float(os.environ.get("GOLDENHOUR_TEST_RECEIVER_DOWN_S", "3"))
WAIT_S = 60.0
SECRET = "shared-secret"
HOSPITAL = "county-hospital"
KEEP = {"IncidentOpened", "UnitStatusChanged", "PreAlertRaised", "HandoverSubmitted"}
FAST_RETRIES = {
    "subscription_retry_first_s": 0.2,
    "subscription_retry_max_s": 1.0,
    "subscription_poll_s": 0.05,
    # the receivers listen on loopback, which the SSRF guard refuses unless allowed
    "subscription_endpoint_allowlist": ["127.0.0.1/32"],
}


class Receiver:
    """A real HTTP endpoint that answers 200 (`ok`), 500 (`failing`) or is not listening."""

    def __init__(self) -> None:
        self.port = free_port()
        self.failing = False
        self.bundles: list[Json] = []
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self._http: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.failing:
                    self.send_response(500)
                else:
                    receiver.bodies.append(body)
                    receiver.headers.append(dict(self.headers.items()))
                    receiver.bundles.append(json.loads(body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._http = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def of_type(self, kind: str) -> list[Json]:
        return [b for b in self.bundles if notification_type(b) == kind]


def params(bundle: Json) -> list[Json]:
    return list(bundle["entry"][0]["resource"]["parameter"])


def notification_type(bundle: Json) -> str:
    return next(p["valueCode"] for p in params(bundle) if p["name"] == "type")


def event_numbers(bundle: Json) -> list[int]:
    return [
        int(p["part"][0]["valueString"])
        for p in params(bundle)
        if p["name"] == "notification-event"
    ]


def focus_refs(bundle: Json) -> list[str]:
    return [
        part["valueReference"]["reference"]
        for p in params(bundle)
        if p["name"] == "notification-event"
        for part in p["part"]
        if part["name"] == "focus"
    ]


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


def subscription(channel: Json, content: str = "id-only") -> Json:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "ambulances coming to the county hospital",
        "criteria": HANDOVER.url,
        "_criteria": {
            "extension": [
                {"url": FILTER_CRITERIA, "valueString": f"Composition?destination={HOSPITAL}"}
            ]
        },
        "channel": {
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": content}]},
            **channel,
        },
    }


def create(client: httpx.Client, doc: Json) -> str:
    answer = client.post("/fhir/Subscription", json=doc)
    assert answer.status_code == 201, answer.text
    sid = str(answer.json()["id"])
    wait_for(lambda: client.get(f"/fhir/Subscription/{sid}").status_code == 200, "the view")
    return sid


def status_of(client: httpx.Client, sid: str) -> Json:
    answer = client.get(f"/fhir/Subscription/{sid}/$status")
    assert answer.status_code == 200, answer.text
    return {p["name"]: p for p in params(answer.json())}


def post_incident(client: httpx.Client, incident: str) -> str:
    """A scripted incident up to its handover (one handover notification); its Composition."""
    events = [e for e in stemi_incident(incident) if e["type"] in KEEP]
    answer = client.post(
        f"/ingest/incidents/{incident}/events",
        json={"expected_version": 0, "device_id": "tab-1", "user_id": "crew-1", "events": events},
    )
    assert answer.status_code == 202, answer.text
    return f"Composition/{composition_id(incident)}"


def received_numbers(receiver: Receiver) -> list[int]:
    return [n for b in receiver.of_type("event-notification") for n in event_numbers(b)]


def test_rest_hook__receiver_failing_then_down_then_back_gets_every_notification_in_order(
    make_server: Callable[..., Server], receiver: Receiver
) -> None:
    server = make_server(**FAST_RETRIES)
    client = httpx.Client(base_url=server.base_url, timeout=30)
    channel = {
        "type": "rest-hook",
        "endpoint": receiver.url,
        "header": ["Authorization: Bearer emr-token"],
        "extension": [{"url": HMAC_SECRET, "valueString": SECRET}],
    }
    sid = create(client, subscription(channel))
    assert SECRET not in client.get(f"/fhir/Subscription/{sid}").text
    wait_for(lambda: receiver.of_type("handshake"), "the handshake")
    wait_for(lambda: status_of(client, sid)["status"]["valueCode"] == "active", "active")

    expected = [post_incident(client, "inc-sub-1")]
    wait_for(lambda: received_numbers(receiver) == [1], "notification 1")

    receiver.failing = True  # answers 500
    expected += [post_incident(client, f"inc-sub-{n}") for n in (2, 3)]
    error = wait_for(
        lambda: (s := status_of(client, sid))["status"]["valueCode"] == "error" and s, "error"
    )
    assert "HTTP 500" in error["error"]["valueCodeableConcept"]["text"]

    receiver.stop()  # the port is closed
    expected += [post_incident(client, f"inc-sub-{n}") for n in (4, 5)]
    time.sleep(DOWN_S)
    assert status_of(client, sid)["status"]["valueCode"] == "error"

    receiver.failing = False
    receiver.start()
    wait_for(lambda: len(set(received_numbers(receiver))) == 5, "all five notifications")
    numbers = received_numbers(receiver)
    assert numbers == sorted(numbers), f"out of order: {numbers}"
    assert list(dict.fromkeys(numbers)) == [1, 2, 3, 4, 5]
    refs = [ref for b in receiver.of_type("event-notification") for ref in focus_refs(b)]
    assert sorted(set(refs)) == sorted(expected)
    wait_for(lambda: status_of(client, sid)["status"]["valueCode"] == "active", "active again")
    assert status_of(client, sid)["events-since-subscription-start"]["valueString"] == "5"
    for headers, body in zip(receiver.headers, receiver.bodies, strict=True):
        mac = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers[SIGNATURE_HEADER] == f"sha256={mac}"
        assert headers["Authorization"] == "Bearer emr-token"


def test_rest_hook__heartbeat_when_idle_and_nothing_after_delete(
    make_server: Callable[..., Server], receiver: Receiver
) -> None:
    server = make_server(**FAST_RETRIES)
    client = httpx.Client(base_url=server.base_url, timeout=30)
    heartbeat = {
        "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
        "backport-heartbeat-period",
        "valueUnsignedInt": 1,
    }
    channel = {"type": "rest-hook", "endpoint": receiver.url, "extension": [heartbeat]}
    sid = create(client, subscription(channel, "full-resource"))
    wait_for(lambda: receiver.of_type("heartbeat"), "a heartbeat")
    post_incident(client, "inc-hb-1")
    bundle = wait_for(lambda: receiver.of_type("event-notification"), "the notification")[0]
    assert bundle["entry"][1]["resource"]["resourceType"] == "Composition"  # full-resource

    assert client.delete(f"/fhir/Subscription/{sid}").status_code == 204
    # a deleted subscription reads as 410 Gone (http.html#delete); $status still answers
    wait_for(lambda: client.get(f"/fhir/Subscription/{sid}").status_code == 410, "gone")
    post_incident(client, "inc-hb-2")
    time.sleep(1.5)
    assert received_numbers(receiver) == [1]
    assert status_of(client, sid)["events-since-subscription-start"]["valueString"] == "1"


def bind(ws_url: str, token: str) -> websocket.WebSocket:
    ws = websocket.create_connection(ws_url, timeout=WAIT_S)
    ws.send(f"bind-with-token: {token}")
    return ws


def next_bundle(ws: websocket.WebSocket) -> Json:
    doc: Json = json.loads(ws.recv())
    return doc


def test_websocket__client_away_recovers_the_gap_with_events(server: Server) -> None:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    sid = create(client, subscription({"type": "websocket"}))
    token_answer = client.post(f"/fhir/Subscription/{sid}/$get-ws-binding-token")
    assert token_answer.status_code == 200, token_answer.text
    token_params = {p["name"]: p for p in token_answer.json()["parameter"]}
    ws_url = token_params["websocket-url"]["valueUrl"]
    token = token_params["token"]["valueString"]

    ws = bind(ws_url, token)
    assert notification_type(next_bundle(ws)) == "handshake"
    first = post_incident(client, "inc-ws-1")
    live = next_bundle(ws)
    assert (event_numbers(live), focus_refs(live)) == ([1], [first])
    ws.close()

    missed = [post_incident(client, f"inc-ws-{n}") for n in (2, 3)]
    wait_for(
        lambda: status_of(client, sid)["events-since-subscription-start"]["valueString"] == "3",
        "events 2 and 3 numbered",
    )
    ws = bind(ws_url, token)
    handshake = next_bundle(ws)
    since = {p["name"]: p for p in params(handshake)}["events-since-subscription-start"]
    assert since["valueString"] == "3"  # the client saw 1: it knows 2..3 are missing

    gap = client.get(
        f"/fhir/Subscription/{sid}/$events",
        params={"eventsSinceNumber": 2, "eventsUntilNumber": 3},
    )
    assert gap.status_code == 200, gap.text
    assert notification_type(gap.json()) == "query-event"
    assert event_numbers(gap.json()) == [2, 3]
    assert sorted(focus_refs(gap.json())) == sorted(missed)

    fourth = post_incident(client, "inc-ws-4")
    live = next_bundle(ws)
    assert (event_numbers(live), focus_refs(live)) == ([4], [fourth])
    ws.close()


def test_subscription__refusals_and_topics(server: Server) -> None:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    bad = subscription({"type": "rest-hook", "endpoint": "not a url"})
    refused = client.post("/fhir/Subscription", json=bad)
    assert refused.status_code == 422
    assert refused.json()["resourceType"] == "OperationOutcome"
    topics = client.get("/fhir/SubscriptionTopic").json()
    assert {e["resource"]["url"] for e in topics["entry"]} >= {HANDOVER.url}
    assert client.get("/fhir/Subscription/unknown/$status").status_code == 404
    capability = client.get("/fhir/metadata").json()
    types = {r["type"] for r in capability["rest"][0]["resource"]}
    assert "Subscription" in types and "SubscriptionTopic" not in types  # no R5 type in R4
