"""The demo's hospital-EMR chapter: the county hospital's EMR subscribes to "handover for my
hospital" (a FHIR rest-hook, here a small receiver in this process), then, once the ambulance
chapter has played, admits the ambulance's patient with an HL7 v2 ADT^A01 over MLLP that
names the incident (PV1-50): the unidentified prehospital patient is linked to the
hospital's, `$everything` on the hospital patient reaches the ambulance record, and `_at`
shows the Encounter as it was before the transfer of care."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from kernel.jsontypes import Json
from services.hl7_gateway.report_sender import exchange, read_ack
from services.simulate.stemi_incident import DESTINATION
from services.subscriptions.request import FILTER_CRITERIA, PAYLOAD_CONTENT
from stream_processors.notifier.published import HANDOVER

WAIT_S = 15.0


def _say(step: str, text: str) -> None:
    print(f"  [{step}] {text}", flush=True)


class Receiver:
    """The EMR's rest-hook endpoint: keeps every notification Bundle it is sent."""

    def __init__(self) -> None:
        received: list[Json] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.received = received
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/fhir-notifications"

    def event_types(self) -> list[str]:
        out = []
        for bundle in self.received:
            status = bundle["entry"][0]["resource"]
            for p in status.get("parameter", []):
                if p["name"] == "type":
                    out.append(p["valueCode"])
        return out

    def stop(self) -> None:
        self._server.shutdown()


def subscribe(client: httpx.Client) -> Receiver:
    receiver = Receiver()
    answer = client.post(
        "/fhir/Subscription",
        json={
            "resourceType": "Subscription",
            "status": "requested",
            "reason": "the county hospital's EMR: ambulances coming in",
            "criteria": HANDOVER.url,
            "_criteria": {
                "extension": [
                    {
                        "url": FILTER_CRITERIA,
                        "valueString": f"Composition?destination={DESTINATION}",
                    }
                ]
            },
            "channel": {
                "type": "rest-hook",
                "endpoint": receiver.url,
                "payload": "application/fhir+json",
                "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "id-only"}]},
            },
        },
    )
    _say(
        "emr",
        f"the hospital EMR subscribes (rest-hook) to {HANDOVER.url.rsplit('/', 1)[-1]}: {answer.status_code}",
    )
    sid = answer.json()["id"]
    deadline = time.monotonic() + WAIT_S
    while (
        client.get(f"/fhir/Subscription/{sid}").status_code != 200 and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    return receiver


def _adt_a01(incident: str, mrn: str) -> bytes:
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y%m%d%H%M%S+0800")
    segments = [
        f"MSH|^~\\&|HIS|{DESTINATION}|GOLDENHOUR|COUNTY|{now}||ADT^A01^ADT_A01|adt-{incident}|P|2.5.1",
        f"EVN|A01|{now}",
        f"PID|1||{mrn}^^^{DESTINATION}^MR||王^建国||19670415|M",
        "|".join(_pv1(incident, now)),
    ]
    return "\r".join(segments).encode()


def _pv1(incident: str, now: str) -> list[str]:
    fields = ["PV1", "1", "E", f"ED^3^1^{DESTINATION}"] + [""] * 47
    fields[19] = f"V-{incident}"  # visit number
    fields[44] = now  # admitted
    fields[50] = f"{incident}^^^EMS"  # the ambulance incident that brought the patient
    return fields


def play_emr(
    client: httpx.Client, receiver: Receiver, mllp_port: int | None, ambulance: dict[str, str]
) -> None:
    deadline = time.monotonic() + WAIT_S
    while receiver.event_types().count("event-notification") < 2:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    kinds = receiver.event_types()
    _say(
        "emr",
        f"rest-hook got a {kinds[0] if kinds else 'nothing'}, then "
        f"{kinds.count('event-notification')} notification bundle(s) for {DESTINATION}'s "
        "handovers, in event-number order",
    )
    incident = ambulance["incident2"]
    if mllp_port is None:
        _say("emr", "no MLLP listener: skipping the ADT")
        return
    ack = read_ack(exchange(("127.0.0.1", mllp_port), _adt_a01(incident, "H-778"), 5, 10))
    _say(
        "his",
        f"the HIS admits amb-03's patient with ADT^A01 (PV1-50 names {incident}): ACK {ack.code}",
    )
    found: list[Json] = []
    deadline = time.monotonic() + WAIT_S
    while not found and time.monotonic() < deadline:
        bundle = client.get(
            "/fhir/Patient", params={"identifier": f"urn:goldenhour:mrn:{DESTINATION}|H-778"}
        ).json()
        found = [e["resource"] for e in bundle.get("entry", [])]
        time.sleep(0.1)
    if not found:
        _say("fhir", "the hospital patient did not appear")
        return
    patient = found[0]
    everything: Json = {}
    while time.monotonic() < deadline:
        everything = client.get(f"/fhir/Patient/{patient['id']}/$everything").json()
        if any(e["resource"]["resourceType"] == "Encounter" for e in everything.get("entry", [])):
            break
        time.sleep(0.2)
    kinds = sorted({e["resource"]["resourceType"] for e in everything.get("entry", [])})
    _say(
        "fhir",
        f"Patient {patient['id']} (MRN H-778) is linked to the ambulance's temporary patient; $everything: {kinds}",
    )
    history = client.get("/fhir/_history", params={"_count": "5"}).json()
    _say(
        "fhir",
        f"system _history: newest {len(history.get('entry', []))} versions of every resource, paged by next links",
    )
    versions = client.get(f"{ambulance['encounter']}/_history").json()["entry"]
    now_v, before_v = versions[0]["resource"], versions[1]["resource"]
    at = before_v["meta"]["lastUpdated"]
    past = client.get(ambulance["encounter"], params={"_at": at}).json()
    _say(
        "fhir",
        f"time travel: the ambulance Encounter is {now_v['status']} (v{now_v['meta']['versionId']}); "
        f"?_at={at[:19]}Z answers {past['status']} (v{past['meta']['versionId']}), as it stood then",
    )
