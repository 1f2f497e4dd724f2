"""The search parameters EMRs use to find a patient and their reports, over real HTTP on
each backend pair: Patient by name (any part, by prefix, or whole as written), family,
given, gender and birthdate; DiagnosticReport by status and code."""

from __future__ import annotations

import time

import httpx

from services.server import Server
from tests.ecg_payloads import ecg_payload
from tests.integration.test_ecg_slice import wait_for
from tests.integration.test_report_back_mllp import sign


def ids(client: httpx.Client, url: str, **params: str) -> set[str]:
    resp = client.get(url, params=params)
    assert resp.status_code == 200, resp.text
    return {
        e["resource"]["id"] for e in resp.json().get("entry", []) if e["search"]["mode"] == "match"
    }


def test_patient_and_report_searches(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        body = ecg_payload()
        accepted = client.post("/ingest/ecg", json=body).json()
        patient = wait_for(client, f"/fhir/{accepted['patient']}").json()["id"]
        for query in (
            {"name": "王"},
            {"name": "王建国"},
            {"family": "王"},
            {"given": "建"},
            {"gender": "male"},
            {"birthdate": "1949"},
            {"birthdate": "1949-12-31"},
            {"name": "王", "birthdate": "1949-12", "gender": "male"},
        ):
            assert ids(client, "/fhir/Patient", **query) == {patient}, query
        for query in ({"name": "李"}, {"gender": "female"}, {"birthdate": "1950"}, {"given": "国"}):
            assert patient not in ids(client, "/fhir/Patient", **query), query

        sign(client, body["ecg_id"])
        deadline = time.monotonic() + 30
        while not (found := ids(client, "/fhir/DiagnosticReport", patient=patient, status="final")):
            assert time.monotonic() < deadline, "no final DiagnosticReport"
            time.sleep(0.1)
        report = client.get(f"/fhir/DiagnosticReport/{found.pop()}").json()
        code = report["code"]["coding"][0]
        assert ids(client, "/fhir/DiagnosticReport", code=f"{code['system']}|{code['code']}") == {
            report["id"]
        }
        assert not ids(client, "/fhir/DiagnosticReport", patient=patient, status="preliminary")
