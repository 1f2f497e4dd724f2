"""The demo's hospital-EMR chapter: the county hospital's EMR subscribes to "handover for my
hospital" (a FHIR rest-hook, here a small receiver in this process), then, once the ambulance
chapter has played, admits the ambulance's patient with an HL7 v2 ADT^A01 over MLLP that
names the incident (PV1-50): the unidentified prehospital patient is linked to the
hospital's, `$everything` on the hospital patient reaches the ambulance record, and `_at`
shows the Encounter as it was before the transfer of care. The hospital then reports its
outcomes through FHIR (services/fhir_api/outcome_routes.py): amb-07's patient had a primary
PCI (a Procedure with its device time) and STEMI confirmed (a Condition), in one transaction
Bundle; the admitted patient's Encounter gets its discharge disposition (If-Match). The KPI
report then shows door-to-balloon, and the triage outcome loop counts the pre-alert."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from kernel.jsontypes import Json
from services.hl7_gateway.report_sender import Ack, exchange, read_ack
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


def _admit(mllp_port: int, incident: str) -> tuple[Ack, int]:
    """The ADT^A01 as an interface engine sends it: resent on AE, which is what a just-recorded
    incident the views have not folded yet gets (adt_intake.py), until WAIT_S has passed."""
    deadline, resent = time.monotonic() + WAIT_S, 0
    while True:
        ack = read_ack(exchange(("127.0.0.1", mllp_port), _adt_a01(incident, "H-778"), 5, 10))
        if ack.code != "AE" or time.monotonic() > deadline:
            return ack, resent
        resent += 1
        time.sleep(0.5)


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
    report_outcomes(client, ambulance)
    incident = ambulance["incident2"]
    if mllp_port is None:
        _say("emr", "no MLLP listener: skipping the ADT")
        return
    ack, resent = _admit(mllp_port, incident)
    _say(
        "his",
        f"the HIS admits amb-03's patient with ADT^A01 (PV1-50 names {incident}): ACK {ack.code}"
        + (
            f" (resent {resent}x on AE while the incident was still being recorded)"
            if resent
            else ""
        ),
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
    report_disposition(client, everything)
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


SNOMED = "http://snomed.info/sct"
# stemi_incident's amb-07 reaches the hospital 35 min after the 09:40 call (10:15 CST); the
# cath lab's device time 52 min later
DEVICE_AT = "2026-11-23T11:07:00+08:00"


def _outcome_bundle(patient_ref: str, encounter_ref: str) -> Json:
    pci = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "415070008",
                    "display": "Percutaneous coronary intervention",
                }
            ],
            "text": "primary PCI, RCA stent",
        },
        "subject": {"reference": patient_ref},
        "encounter": {"reference": encounter_ref},
        "performedDateTime": DEVICE_AT,
    }
    stemi = {
        "resourceType": "Condition",
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "401303003",
                    "display": "Acute ST segment elevation myocardial infarction",
                }
            ]
        },
        "subject": {"reference": patient_ref},
        "encounter": {"reference": encounter_ref},
        "evidence": [{"detail": [{"reference": "urn:uuid:8d3f7f0e-6c55-4a5e-9a51-0b9b5b8d1f11"}]}],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:8d3f7f0e-6c55-4a5e-9a51-0b9b5b8d1f11",
                "resource": pci,
                "request": {"method": "POST", "url": "Procedure"},
            },
            {"resource": stemi, "request": {"method": "POST", "url": "Condition"}},
        ],
    }


def report_outcomes(client: httpx.Client, ambulance: dict[str, str]) -> None:
    """The cath lab's PCI and the final diagnosis of amb-07's patient, in one transaction."""
    encounter = client.get(ambulance["encounter"]).json()
    patient_ref = encounter["subject"]["reference"]
    bundle = _outcome_bundle(patient_ref, f"Encounter/{encounter['id']}")
    answer = client.post("/fhir", json=bundle)
    if answer.status_code != 200:
        _say(
            "emr", f"the outcome transaction was refused: {answer.status_code} {answer.text[:200]}"
        )
        return
    statuses = [e["response"]["status"] for e in answer.json()["entry"]]
    _say(
        "emr",
        f"the cath lab reports amb-07's primary PCI (device {DEVICE_AT[11:16]}) and STEMI "
        f"confirmed in one transaction Bundle: {statuses}",
    )
    deadline = time.monotonic() + WAIT_S
    d2b: Json = {}
    while time.monotonic() < deadline:
        report = client.get("/kpi").json()
        d2b = next(k for k in report["kpis"] if k["code"] == "door_to_balloon")["all"]
        if d2b["measured"]:
            break
        time.sleep(0.2)
    triage = report["triage_outcome"]["rows"][0] if report["triage_outcome"]["rows"] else {}
    _say(
        "kpi",
        f"door-to-balloon now measured: {d2b['measured']} case(s), median {d2b['median_min']} min "
        f"(target 90); triage outcome: {triage.get('tp', 0)} true positive(s), "
        f"{triage.get('fp', 0)} false positive(s)",
    )


def _is_visit(encounter: Json) -> bool:
    """A hospital visit from ADT (its identifier is a visit number), not the ambulance's."""
    systems = [i.get("system", "") for i in encounter.get("identifier", [])]
    return any(s.startswith("urn:goldenhour:visit:") for s in systems)


def report_disposition(client: httpx.Client, everything: Json) -> None:
    """The HIS's Encounter of the admitted patient gets its discharge disposition (If-Match)."""
    encounters = [
        e["resource"]
        for e in everything.get("entry", [])
        if e["resource"]["resourceType"] == "Encounter" and _is_visit(e["resource"])
    ]
    if not encounters:
        return
    enc = encounters[0]
    disposition = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                "code": "home",
                "display": "Home",
            }
        ]
    }
    body = {**enc, "hospitalization": {"dischargeDisposition": disposition}}
    body.pop("meta", None)
    etag = f'W/"{enc["meta"]["versionId"]}"'
    answer = client.put(f"/fhir/Encounter/{enc['id']}", json=body, headers={"If-Match": etag})
    stale = client.put(
        f"/fhir/Encounter/{enc['id']}",
        json=body | {"language": "zh-CN"},
        headers={"If-Match": 'W/"0"'},
    )
    _say(
        "emr",
        f"the discharge disposition (home) on the hospital Encounter with If-Match {etag}: "
        f"{answer.status_code}; with a stale ETag: {stale.status_code}",
    )
