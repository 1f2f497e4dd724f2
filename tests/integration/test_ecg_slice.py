"""The spine's slice over real HTTP, on each backend pair: POST an ECG -> EcgSubmitted in
the log -> FHIR projector -> GET /fhir/Observation and /fhir/Patient."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from avro_schemas.catalogue import CLINIC_ECG, READING
from avro_schemas.events import ECG_SUBMITTED
from eventlog.base import NewRecord
from kernel.codes import LOINC, MDC
from services.ingest.ecg_models import EcgIn, ecg_event
from services.server import Server
from tests.ecg_payloads import RESIDENT, ecg_payload
from tests.standard_codes import LEAD_ORDER, MDC_LEADS

WAIT_ATTEMPTS = 200  # x 0.1 s: bounded, so a broken projector fails instead of hanging


def wait_for(client: httpx.Client, url: str, version: str | None = None) -> httpx.Response:
    for _ in range(WAIT_ATTEMPTS):
        resp = client.get(url)
        if resp.status_code == 200 and (
            version is None or resp.json()["meta"]["versionId"] == version
        ):
            return resp
        time.sleep(0.1)
    raise AssertionError(
        f"{url} never became available (last: {resp.status_code} {resp.text[:300]})"
    )


def log_size(server: Server) -> int:
    return sum(server.system.log.end_offsets(CLINIC_ECG).values())


def test_posted_ecg_becomes_valid_fhir_observation_and_patient(client: httpx.Client) -> None:
    body = ecg_payload()
    resp = client.post("/ingest/ecg", json=body)
    assert resp.status_code == 202, resp.text
    answer = resp.json()
    assert resp.headers["location"] == f"/fhir/{answer['observation']}"

    obs_resp = wait_for(client, f"/fhir/{answer['observation']}")
    assert obs_resp.headers["content-type"].startswith("application/fhir+json")
    obs = Observation.model_validate(obs_resp.json())
    assert obs.meta.versionId == "1" and obs.meta.lastUpdated is not None
    assert obs_resp.headers["etag"] == 'W/"1"'
    assert [(c.system, c.code) for c in obs.code.coding] == [(MDC, "131328")]
    leads = [c for c in obs.component if c.code.coding[0].system == MDC]
    assert [c.code.coding[0].code for c in leads] == [MDC_LEADS[n][0] for n in LEAD_ORDER]
    lead_ii = leads[1].valueSampledData
    assert float(lead_ii.period) == 2.0 and lead_ii.dimensions == 1
    assert lead_ii.origin.code == "uV"
    assert [int(x) for x in lead_ii.data.split()] == body["leads"]["II"]
    measured = {
        c.code.coding[0].code: float(c.valueQuantity.value)
        for c in obs.component
        if c.code.coding[0].system == LOINC
    }
    assert measured == {"8867-4": 75, "8625-6": 160, "8633-0": 92, "8634-8": 380, "8636-3": 410}
    assert obs.subject.reference == answer["patient"]

    patient = Patient.model_validate(wait_for(client, f"/fhir/{answer['patient']}").json())
    assert [(i.system, i.value) for i in patient.identifier][0][1] == RESIDENT
    assert patient.gender == "male" and str(patient.birthDate) == "1949-12-31"
    assert patient.name[0].family == "王"


def test_conditional_read_and_history(client: httpx.Client) -> None:
    answer = client.post("/ingest/ecg", json=ecg_payload()).json()
    first = wait_for(client, f"/fhir/{answer['patient']}")
    assert (
        client.get(
            f"/fhir/{answer['patient']}", headers={"If-None-Match": first.headers["etag"]}
        ).status_code
        == 304
    )
    # A second ECG of the same patient makes the Patient's version 2.
    client.post("/ingest/ecg", json=ecg_payload())
    second = wait_for(client, f"/fhir/{answer['patient']}", version="2")
    assert second.headers["etag"] == 'W/"2"'
    history = client.get(f"/fhir/{answer['patient']}/_history").json()
    assert history["type"] == "history" and [
        e["resource"]["meta"]["versionId"] for e in history["entry"]
    ] == ["2", "1"]
    v1 = client.get(f"/fhir/{answer['patient']}/_history/1")
    assert v1.status_code == 200 and v1.content == first.content
    found = client.get("/fhir/Observation", params={"patient": answer["patient"]}).json()
    ecgs = [e for e in found["entry"] if e["resource"]["code"]["coding"][0]["code"] == "131328"]
    assert found["type"] == "searchset" and len(ecgs) == 2  # and their measurement panels


def test_retry_with_same_event_id_gets_same_answer_and_no_second_event(
    client: httpx.Client, server: Server
) -> None:
    body = ecg_payload()
    first = client.post("/ingest/ecg", json=body)
    size = log_size(server)
    again = client.post("/ingest/ecg", json=body)
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert log_size(server) == size
    obs = wait_for(client, f"/fhir/{first.json()['observation']}")
    assert obs.json()["meta"]["versionId"] == "1"


def test_retry_after_the_ecg_landed_without_its_read_request__stores_each_once(
    client: httpx.Client, server: Server
) -> None:
    """What a Kafka append failing half way (or a crash between two commits) leaves: the
    EcgSubmitted in the log, its ReadRequested not. The sender's retry completes the pair,
    each event once, and is answered as the replay it is."""
    body = ecg_payload()
    event = ecg_event(EcgIn.model_validate(body), dt.datetime.now(dt.UTC), "http")
    log, codec = server.system.log, server.system.codec
    log.append(
        CLINIC_ECG,
        [NewRecord(body["ecg_id"], codec.encode(ECG_SUBMITTED, event), body["event_id"])],
    )
    for _ in range(2):  # the retry, and a retry of it
        resp = client.post("/ingest/ecg", json=body)
        assert resp.status_code == 202 and resp.headers["idempotent-replayed"] == "true"
    # (the ECG's measurement also lands on its key in READING, from a processor)
    assert event_ids(server, CLINIC_ECG, body["ecg_id"]).count(body["event_id"]) == 1
    assert event_ids(server, READING, body["ecg_id"]).count(f"{body['event_id']}:read") == 1


def event_ids(server: Server, topic: str, key: str) -> list[str]:
    return [r.event_id for r in server.system.log.key_records(topic, key)]


def test_event_id_reused_for_another_ecg_is_a_conflict(client: httpx.Client) -> None:
    body = ecg_payload()
    client.post("/ingest/ecg", json=body)
    resp = client.post("/ingest/ecg", json={**body, "ecg_id": "a-different-ecg"})
    assert resp.status_code == 409
    assert resp.json()["issue"][0]["expression"] == ["event_id"]


def outcome_of(resp: httpx.Response) -> dict[str, Any]:
    assert resp.headers["content-type"].startswith("application/fhir+json")
    doc = resp.json()
    assert doc["resourceType"] == "OperationOutcome"
    return doc  # type: ignore[no-any-return]


def _without_v1(body: dict[str, Any]) -> dict[str, Any]:
    body["leads"].pop("V1")
    return body


def _text_sample(body: dict[str, Any]) -> dict[str, Any]:
    body["leads"]["V2"][3] = "12.5"
    return body


def _no_identifier(body: dict[str, Any]) -> dict[str, Any]:
    body["patient"]["identifiers"] = []
    return body


def _bad_check_digit(body: dict[str, Any]) -> dict[str, Any]:
    body["patient"]["identifiers"][0]["value"] = RESIDENT[:-1] + "1"
    return body


def _short(body: dict[str, Any]) -> dict[str, Any]:
    body["leads"] = {k: v[:500] for k, v in body["leads"].items()}
    return body


@pytest.mark.parametrize(
    ("breaks", "field", "says"),
    [
        (_without_v1, "leads", "missing V1"),
        (_text_sample, "leads.V2.3", "valid integer"),
        (_no_identifier, "patient.identifiers", "at least 1"),
        (_bad_check_digit, "patient.identifiers.0", "check digit"),
        (_short, "body", "1.00 s"),
    ],
)
def test_bad_ecg_is_refused_with_the_field_named_and_nothing_appended(
    client: httpx.Client, server: Server, breaks: Any, field: str, says: str
) -> None:
    size = log_size(server)
    resp = client.post("/ingest/ecg", json=breaks(ecg_payload()))
    assert resp.status_code == 422
    issues = outcome_of(resp)["issue"]
    assert any(i["expression"] == [field] and says in i["diagnostics"] for i in issues), issues
    assert log_size(server) == size


def test_malformed_json_is_a_400_outcome(client: httpx.Client, server: Server) -> None:
    size = log_size(server)
    resp = client.post(
        "/ingest/ecg",
        content=b'{"event_id": "x", "leads": [1,2',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    assert outcome_of(resp)["issue"][0]["code"] == "structure"
    assert log_size(server) == size


def test_unknown_resource_and_missing_id_are_outcomes(client: httpx.Client) -> None:
    assert (
        outcome_of(client.get("/fhir/Observation/does-not-exist"))["issue"][0]["code"]
        == "not-found"
    )
    assert client.get("/fhir/Medication/x").status_code == 404
    assert client.get("/fhir/Patient/bad$id").status_code == 400


def test_metadata_describes_what_is_served(client: httpx.Client) -> None:
    cs = client.get("/fhir/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"].startswith("4.0")
    types = {r["type"] for r in cs["rest"][0]["resource"]}
    assert types == {
        "Patient",
        "Observation",
        "DocumentReference",  # an ECG device's own report (report-only results)
        "ServiceRequest",
        "DiagnosticReport",
        "Task",
        "Encounter",
        "Procedure",
        "MedicationAdministration",
        "Flag",
        "Composition",
        "Provenance",
        "Group",
        "Subscription",
        "AuditEvent",
        # the registry: who is who
        "Organization",
        "Location",
        "Practitioner",
        "PractitionerRole",
        "Device",
        "Endpoint",
        "Condition",  # a hospital's final diagnosis (outcomes flowing back)
    }
    json.dumps(cs)


def test_openapi_documents_the_ecg_body(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    ref = doc["paths"]["/ingest/ecg"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"event_id", "ecg_id", "patient"} <= set(schema["required"])
    # leads and their rate are optional: a report-only result carries measurements or a
    # document instead (validated together, see EcgIn)
    assert {"leads", "sampling_rate_hz", "document"} <= set(schema["properties"])
    assert "PatientIn" in doc["components"]["schemas"]
