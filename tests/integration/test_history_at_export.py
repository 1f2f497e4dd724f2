"""History at type and system level (http.html#history), `_at` time travel on read, history
and Patient/$everything, `_include`/`_revinclude` (search.html#include) and bulk `$export`
(hl7.org/fhir/uv/bulkdata), over real HTTP on each backend pair, with data made through the
public ingest APIs (clinic ECGs, an ambulance incident)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from kernel.ids import ecg_observation_id, resource_id
from kernel.jsontypes import Json
from services.server import Server
from services.simulate.stemi_incident import DESTINATION, stemi_incident, valid_resident_id
from stream_processors.fhir_projector.incident.encounter import encounter_id
from stream_processors.fhir_projector.measured_to_fhir import measurement_observation_id
from tests.ecg_payloads import ecg_payload
from tests.integration.test_ecg_slice import wait_for

EXPORT_WAIT_S = 60.0


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


def post_ecg(client: httpx.Client, version: int, **changes: Any) -> tuple[str, str]:
    """Posts an ECG and waits for everything it makes; (patient id, ECG key)."""
    key = f"ecg-{uuid.uuid4().hex[:8]}"
    resp = client.post("/ingest/ecg", json=ecg_payload(ecg_id=key, **changes))
    assert resp.status_code == 202, resp.text
    for url in (
        f"/fhir/Observation/{ecg_observation_id(key)}",
        f"/fhir/Observation/{measurement_observation_id(key)}",
        f"/fhir/ServiceRequest/{resource_id('ServiceRequest', 'ecg-read', key)}",
        f"/fhir/Task/{resource_id('Task', 'ecg-read', key)}",
    ):
        wait_for(client, url)
    patient = resp.json()["patient"]
    wait_for(client, f"/fhir/{patient}", version=str(version))
    return patient.split("/")[1], key


def history_bundle(resp: httpx.Response) -> Json:
    assert resp.status_code == 200, resp.text
    doc: Json = resp.json()
    Bundle.model_validate(doc)
    assert doc["type"] == "history"
    return doc


def walk_history(client: httpx.Client, url: str, params: dict[str, str]) -> list[Json]:
    pages = [history_bundle(client.get(url, params=params))]
    while nxt := [link["url"] for link in pages[-1]["link"] if link["relation"] == "next"]:
        assert len(pages) < 100, "next links never end"
        pages.append(history_bundle(client.get(nxt[0])))
    return [e for page in pages for e in page.get("entry", [])]


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_type_and_system_history__pages_newest_first_and_honour_since(
    client: httpx.Client,
) -> None:
    patient, _ = post_ecg(client, 1)
    between = now()
    time.sleep(0.01)
    post_ecg(client, 2)
    entries = walk_history(client, "/fhir/Observation/_history", {"_count": "2"})
    keys = [(e["resource"]["id"], e["resource"]["meta"]["versionId"]) for e in entries]
    expected = {
        (e["resource"]["id"], e["resource"]["meta"]["versionId"])
        for obs in client.get("/fhir/Observation", params={"patient": patient}).json()["entry"]
        for e in client.get(f"/fhir/Observation/{obs['resource']['id']}/_history").json()["entry"]
    }
    assert len(keys) == len(set(keys)) and set(keys) == expected
    stamps = [e["response"]["lastModified"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    first = entries[-1]
    assert first["request"] == {"method": "POST", "url": "Observation"}
    assert first["response"]["status"] == "201 Created"

    since = walk_history(client, "/fhir/_history", {"_since": between, "_count": "3"})
    kinds = {e["resource"]["resourceType"] for e in since}
    assert {"Patient", "Observation", "ServiceRequest", "Task"} <= kinds
    assert all(e["response"]["lastModified"] >= between for e in since)
    assert not any(k in kinds for k in ("QueueItem", "OutboxItem"))  # internal views stay out
    patient_versions = [
        e["resource"]["meta"]["versionId"]
        for e in since
        if e["resource"]["resourceType"] == "Patient"
    ]
    assert patient_versions == ["2"]
    for e in since:
        get_fhir_model_class(e["resource"]["resourceType"]).model_validate(e["resource"])


def test_at__read_history_and_everything_answer_what_the_view_held(
    client: httpx.Client,
) -> None:
    before = now()
    time.sleep(0.01)
    patient, first_ecg = post_ecg(client, 1)
    between = now()
    time.sleep(0.01)
    _, second_ecg = post_ecg(client, 2)

    assert client.get(f"/fhir/Patient/{patient}").json()["meta"]["versionId"] == "2"
    old = client.get(f"/fhir/Patient/{patient}", params={"_at": between})
    assert old.status_code == 200 and old.json()["meta"]["versionId"] == "1"
    assert old.headers["ETag"] == 'W/"1"'
    missing = client.get(
        f"/fhir/Observation/{ecg_observation_id(second_ecg)}", params={"_at": between}
    )
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{patient}", params={"_at": before}).status_code == 404
    assert client.get(f"/fhir/Patient/{patient}", params={"_at": "yesterday"}).status_code == 400

    hist = history_bundle(client.get(f"/fhir/Patient/{patient}/_history", params={"_at": between}))
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["1"]
    since = history_bundle(
        client.get(f"/fhir/Patient/{patient}/_history", params={"_since": between})
    )
    assert [e["resource"]["meta"]["versionId"] for e in since["entry"]] == ["2"]
    typed = walk_history(client, "/fhir/Patient/_history", {"_at": between})
    assert [(e["resource"]["id"], e["resource"]["meta"]["versionId"]) for e in typed] == [
        (patient, "1")
    ]

    past = client.get(f"/fhir/Patient/{patient}/$everything", params={"_at": between}).json()
    Bundle.model_validate(past)
    ids = {e["resource"]["id"]: e["resource"]["meta"]["versionId"] for e in past["entry"]}
    assert ids[patient] == "1"
    assert ecg_observation_id(first_ecg) in ids and ecg_observation_id(second_ecg) not in ids
    today = client.get(f"/fhir/Patient/{patient}/$everything").json()
    assert ecg_observation_id(second_ecg) in {e["resource"]["id"] for e in today["entry"]}
    gone = client.get(f"/fhir/Patient/{patient}/$everything", params={"_at": before})
    assert gone.status_code == 404


def test_include_and_revinclude__add_the_referenced_and_referencing_resources(
    client: httpx.Client,
) -> None:
    patient, key = post_ecg(client, 1)
    obs = client.get(
        "/fhir/Observation",
        params={"patient": patient, "_include": "Observation:patient", "_count": "1"},
    ).json()
    Bundle.model_validate(obs)
    modes = [(e["search"]["mode"], e["resource"]["resourceType"]) for e in obs["entry"]]
    assert modes == [("match", "Observation"), ("include", "Patient")]
    assert obs["total"] == 2  # the ECG and its measurements; includes are not counted

    ident = ecg_payload()["patient"]["identifiers"][0]
    pat = client.get(
        "/fhir/Patient",
        params={
            "identifier": f"{ident['system']}|{ident['value']}",
            "_revinclude": ["Observation:patient", "Task:patient"],
        },
    ).json()
    Bundle.model_validate(pat)
    included = {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in pat["entry"]
        if e["search"]["mode"] == "include"
    }
    assert ("Observation", ecg_observation_id(key)) in included
    assert ("Task", resource_id("Task", "ecg-read", key)) in included

    bad = client.get(
        "/fhir/Observation", params={"patient": patient, "_include": "Observation:nothing"}
    )
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    iterate = client.get(  # :iterate is served (test_fhir_conformance.py); `*` names no type
        "/fhir/Observation", params={"patient": patient, "_include:iterate": "*:patient"}
    )
    assert iterate.status_code == 400


def post_incident(client: httpx.Client, incident: str, resident: str) -> str:
    script = stemi_incident(incident, resident_id=resident)
    resp = client.post(
        f"/ingest/incidents/{incident}/events",
        json={"expected_version": 0, "device_id": "tab-1", "events": script},
    )
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        enc = client.get(f"/fhir/Encounter/{encounter_id(incident)}")
        if enc.status_code == 200 and "hospitalization" in enc.json() and "subject" in enc.json():
            return str(enc.json()["subject"]["reference"]).split("/")[1]
        time.sleep(0.1)
    raise AssertionError(f"Encounter of {incident} never showed its destination and patient")


def run_export(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> Json:
    kick = client.get(
        url, params=params, headers={"Prefer": "respond-async", "Accept": "application/fhir+json"}
    )
    assert kick.status_code == 202, kick.text
    status_url = kick.headers["Content-Location"]
    deadline = time.monotonic() + EXPORT_WAIT_S
    while time.monotonic() < deadline:
        status = client.get(status_url)
        if status.status_code == 200:
            manifest: Json = status.json()
            manifest["_status_url"] = status_url
            return manifest
        assert status.status_code == 202, status.text
        assert "X-Progress" in status.headers
        time.sleep(0.1)
    raise AssertionError(f"export {status_url} never finished")


def ndjson(client: httpx.Client, manifest: Json) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for item in manifest["output"]:
        resp = client.get(item["url"])
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(
            "application/fhir+ndjson"
        )
        lines = [json.loads(line) for line in resp.text.splitlines()]
        assert len(lines) == item["count"]
        for resource in lines:
            assert resource["resourceType"] == item["type"]
            get_fhir_model_class(item["type"]).model_validate(resource)
        out[item["type"]] = lines
    return out


def test_export__system_group_and_patient_level_with_type_and_since(client: httpx.Client) -> None:
    clinic_patient, key = post_ecg(client, 1)
    incident = f"inc-{uuid.uuid4().hex[:6]}"
    ambulance_patient = post_incident(client, incident, valid_resident_id("11010519800101002"))

    everything = run_export(client, "/fhir/$export")
    assert everything["requiresAccessToken"] is False and everything["error"] == []
    assert everything["request"].endswith("/fhir/$export")
    files = ndjson(client, everything)
    assert {"Patient", "Observation", "Encounter", "Task", "ServiceRequest"} <= set(files)
    assert {clinic_patient, ambulance_patient} <= {p["id"] for p in files["Patient"]}
    assert len({o["id"] for o in files["Observation"]}) == len(files["Observation"])

    group = ndjson(client, run_export(client, f"/fhir/Group/{DESTINATION}/$export"))
    assert {p["id"] for p in group["Patient"]} == {ambulance_patient}
    assert ecg_observation_id(key) not in {o["id"] for o in group.get("Observation", [])}
    assert all(
        o["subject"]["reference"] == f"Patient/{ambulance_patient}" for o in group["Observation"]
    )
    assert "Encounter" in group

    only = run_export(
        client,
        "/fhir/Patient/$export",
        {"_type": "Patient", "_outputFormat": "application/fhir+ndjson"},
    )
    assert [o["type"] for o in only["output"]] == ["Patient"]
    later = run_export(client, "/fhir/$export", {"_since": everything["transactionTime"]})
    latest = ndjson(client, later)
    assert all(
        r["meta"]["lastUpdated"] >= everything["transactionTime"]
        for rs in latest.values()
        for r in rs
    )
    future = run_export(client, "/fhir/$export", {"_since": "2999-01-01T00:00:00Z"})
    assert future["output"] == []

    assert client.delete(everything["_status_url"]).status_code == 202
    assert client.get(everything["_status_url"]).status_code == 404
    assert client.get("/fhir/$export").status_code == 400  # no Prefer: respond-async
    assert (
        client.get(
            "/fhir/$export", params={"_type": "QueueItem"}, headers={"Prefer": "respond-async"}
        ).status_code
        == 400
    )
