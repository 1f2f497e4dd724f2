"""An ambulance incident's handover document over real HTTP, on each backend pair: the
scripted STEMI incident (tests/incident_script.py) appended to the log, the FHIR projector
folds it, `GET /fhir/Composition/{id}/$document` serves a valid FHIR document Bundle that
grows a version with the incident, and EMR searches find the Encounter and Composition.

The tablet API is not the subject here, so events go to the log directly, through the
ECG-router test's `append` (the log is the interface every producer writes through)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

import httpx
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from kernel.codes import RESIDENT_ID
from kernel.ids import ecg_observation_id, patient_id
from services.server import Server
from services.settings import Settings
from stream_processors.fhir_projector.incident.encounter import encounter_id
from stream_processors.fhir_projector.incident.handover import composition_id
from tests import incident_script as script
from tests.integration.test_ecg_slice import wait_for
from tests.integration.test_incident_ecg import append
from tests.integration.test_poison_and_rebuild import dump, latest
from tests.processes import run_rebuild
from viewstore.base import StoredResource

T0 = dt.datetime(2026, 11, 23, 9, 40, tzinfo=dt.UTC)
RESIDENT = "11010519491231002X"
INCIDENT_TYPES = {"Encounter", "Composition", "Flag", "Procedure", "MedicationAdministration"}
ATTEMPTS = 300  # x 0.1 s


def at(minutes: float) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log_events(server: Server, events: list[tuple[str, dict[str, Any]]]) -> None:
    for name, event in events:
        short = name.removeprefix("goldenhour.ems.")
        append(server, event["incident_id"], short, 0, **event)  # the event's own meta wins


def wait_until(client: httpx.Client, url: str, test: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(ATTEMPTS):
        resp = client.get(url)
        if resp.status_code == 200 and test(body := resp.json()):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url} never got there (last: {json.dumps(body)[:300]})")


def search_ids(client: httpx.Client, query: str) -> list[str]:
    resp = client.get(f"/fhir/{query}")
    assert resp.status_code == 200, resp.text
    return [e["resource"]["id"] for e in resp.json().get("entry", [])]


def test_handover_document_bundle_is_valid_and_grows_with_the_incident(server: Server) -> None:
    incident = f"INC-{uuid.uuid4().hex[:8]}"
    cid, eid = composition_id(incident), encounter_id(incident)
    patient = patient_id([{"system": RESIDENT_ID, "value": RESIDENT}])
    log_events(server, script.stemi_incident(incident, T0, RESIDENT))
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        wait_until(client, f"/fhir/Composition/{cid}", lambda c: c["status"] == "final")
        wait_for(client, f"/fhir/Observation/{ecg_observation_id(script.ecg_id(incident))}")
        resp = client.get(f"/fhir/Composition/{cid}/$document")
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/fhir+json")
        doc = resp.json()
        Bundle.model_validate(doc)
        assert doc["type"] == "document" and doc["identifier"]["value"] == f"urn:uuid:{cid}"
        composition = client.get(f"/fhir/Composition/{cid}").json()
        assert doc["meta"]["versionId"] == composition["meta"]["versionId"]
        assert resp.headers["etag"] == f'W/"{composition["meta"]["versionId"]}"'
        assert doc["timestamp"] == composition["meta"]["lastUpdated"]
        entries = {e["fullUrl"].split("/fhir/", 1)[1]: e["resource"] for e in doc["entry"]}
        assert doc["entry"][0]["resource"]["resourceType"] == "Composition"
        for url, resource in entries.items():
            assert url == f"{resource['resourceType']}/{resource['id']}"
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        referenced = [e["reference"] for s in composition["section"] for e in s.get("entry", [])]
        assert referenced and all(ref in entries for ref in referenced)
        assert f"Patient/{patient}" in entries and f"Encounter/{eid}" in entries
        kinds = {r["resourceType"] for r in entries.values()}
        assert kinds >= INCIDENT_TYPES | {"Patient", "Observation"}
        encounter = entries[f"Encounter/{eid}"]
        assert encounter["status"] == "finished"
        assert encounter["period"]["end"] == at(script.TRANSFER_OF_CARE_MIN)

        # one more event of the incident: a new Composition version, a new document version
        extra = script.event(
            incident,
            "UnitStatusChanged",
            T0 + dt.timedelta(minutes=50),
            0,
            unit_id=script.UNIT,
            status="BACK_IN_SERVICE",
            position=None,
        )
        log_events(server, [extra])
        before = int(doc["meta"]["versionId"])
        later = wait_until(
            client,
            f"/fhir/Composition/{cid}/$document",
            lambda d: int(d["meta"]["versionId"]) > before,
        )
        Bundle.model_validate(later)
        assert later["identifier"] == doc["identifier"]

        assert search_ids(client, f"Encounter?patient={patient}") == [eid]
        assert search_ids(client, f"Encounter?patient=Patient/{patient}&status=finished") == [eid]
        assert search_ids(client, f"Encounter?patient={patient}&date=ge2026-11-23") == [eid]
        assert search_ids(client, f"Encounter?patient={patient}&date=lt2026-11-23") == []
        assert search_ids(
            client, f"Encounter?identifier=https://goldenhour.health/sid/incident-id|{incident}"
        ) == [eid]
        assert search_ids(client, f"Composition?patient={patient}") == [cid]
        assert search_ids(client, f"Composition?encounter={eid}&type=67796-3") == [cid]
        assert len(search_ids(client, f"Flag?patient={patient}&status=inactive")) == 1
        assert search_ids(client, f"Flag?patient={patient}&status=active") == []
        bp = f"Observation?patient={patient}&code=http://loinc.org|85354-9"
        assert len(search_ids(client, bp)) == 2
        vitals = f"Observation?encounter={eid}&category=vital-signs&date=ge{at(20)}"
        assert len(search_ids(client, vitals)) == 4 + 1  # the second set: 4 members + panel
        assert len(search_ids(client, f"Procedure?encounter={eid}")) == 1
        assert len(search_ids(client, f"MedicationAdministration?patient={patient}")) == 1
        missing = client.get("/fhir/Composition/no-such-id/$document")
        assert missing.status_code == 404
        assert missing.json()["resourceType"] == "OperationOutcome"


def test_capability_statement_lists_the_incident_types_and_document(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        rest = client.get("/fhir/metadata").json()["rest"][0]["resource"]
    by_type = {r["type"]: r for r in rest}
    assert set(by_type) >= INCIDENT_TYPES
    assert by_type["Composition"]["operation"][0]["name"] == "document"
    encounter_params = {p["name"] for p in by_type["Encounter"]["searchParam"]}
    assert {"patient", "subject", "date", "status", "class", "identifier"} <= encounter_params


def test_rebuild_gives_identical_incident_resources(settings: Settings) -> None:
    server = Server(settings)
    server.start()
    incident = f"INC-{uuid.uuid4().hex[:8]}"
    log_events(server, script.stemi_incident(incident, T0, None))
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        cid = composition_id(incident)
        wait_until(client, f"/fhir/Composition/{cid}", lambda c: c["status"] == "final")
        wait_for(client, f"/fhir/Observation/{ecg_observation_id(script.ecg_id(incident))}")
    for _ in range(ATTEMPTS):  # bounded: a stuck processor fails the test instead of hanging
        if server.system.lag() == 0:
            break
        time.sleep(0.1)
    assert server.system.lag() == 0
    server.stop()
    before = projected(dump(settings))
    done = run_rebuild(settings)
    assert done.returncode == 0, done.stderr
    after = projected(dump(settings))
    differing = sorted(
        k
        for k in set(latest(after)) | set(latest(before))
        if latest(after).get(k) != latest(before).get(k)
    )
    assert not differing, differing
    # fed by the incident's one ordered stream: the whole history is identical too
    assert [r for r in after if r.resource_type in INCIDENT_TYPES] == [
        r for r in before if r.resource_type in INCIDENT_TYPES
    ]


def projected(dumped: list[StoredResource]) -> list[StoredResource]:
    """What the FHIR projector writes (other processors have their own rebuild tests)."""
    kinds = INCIDENT_TYPES | {"Patient", "Observation", "IncidentRecord"}
    return [r for r in dumped if r.resource_type in kinds]
