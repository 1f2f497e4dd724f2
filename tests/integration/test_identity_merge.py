"""`Patient/$merge` and `$unmerge` over real HTTP, on each backend pair: the merge is visible
as links, a Provenance and a wider `$everything`; unmerge restores both Patients; refusals
are OperationOutcomes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kernel.jsontypes import Json
from services.hl7_gateway.listener import MllpListener
from services.server import Server
from stream_processors.fhir_projector.incident.encounter import encounter_id
from tests.adt_messages import adt
from tests.integration.test_adt_mllp import (
    MRN_SYSTEM,
    eventually,
    hospital_patient_id,
    record_ambulance_patient,
    without_meta,
)
from tests.integration.test_mllp_intake import exchange, msa


def ref(rid: str) -> Json:
    return {"reference": f"Patient/{rid}"}


def params(*parts: tuple[str, str, Any]) -> Json:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, kind: value} for name, kind, value in parts],
    }


def post(server: Server, operation: str, body: Json) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/fhir/Patient/${operation}",
        json=body,
        headers={"Content-Type": "application/fhir+json"},
        timeout=30,
    )


def by_reference(
    server: Server, operation: str, source: str, target: str, *more: tuple[str, str, Any]
) -> httpx.Response:
    """`$operation` naming both Patients by reference, with any `more` parameters."""
    return post(
        server,
        operation,
        params(
            ("source-patient", "valueReference", ref(source)),
            ("target-patient", "valueReference", ref(target)),
            *more,
        ),
    )


def by_mrn(role: str, mrn: str) -> tuple[str, str, Json]:
    """The `<role>-patient-identifier` parameter naming a hospital MRN."""
    return (f"{role}-patient-identifier", "valueIdentifier", {"system": MRN_SYSTEM, "value": mrn})


def hospital_patient(server: Server, mllp: MllpListener, mrn: str) -> str:
    assert msa(exchange(mllp, adt("A04", mrn=mrn, visit=None)))[0] == "AA"
    rid = hospital_patient_id(mrn)
    eventually(server, f"/fhir/Patient/{rid}")
    return rid


@pytest.fixture
def mllp(server: Server) -> MllpListener:
    assert server.mllp is not None
    return server.mllp


def test_merge_by_reference__links_provenance_everything_then_unmerge_restores(
    server: Server, mllp: MllpListener
) -> None:
    source = record_ambulance_patient(server, "inc-api-merge")
    target = hospital_patient(server, mllp, "H-800")
    before = {r: without_meta(eventually(server, f"/fhir/Patient/{r}")) for r in (source, target)}

    resp = by_reference(server, "merge", source, target, ("performer", "valueString", "dr-zhao"))
    assert resp.status_code == 200, resp.text
    out = {p["name"]: p["resource"] for p in resp.json()["parameter"]}
    assert out["outcome"]["resourceType"] == "OperationOutcome"
    assert out["result"]["link"] == [{"other": ref(source), "type": "replaces"}]
    assert out["input"]["resourceType"] == "Parameters"

    merged = eventually(server, f"/fhir/Patient/{source}", lambda p: "link" in p)
    assert merged["active"] is False
    assert merged["link"] == [{"other": ref(target), "type": "replaced-by"}]
    survivor = eventually(server, f"/fhir/Patient/{target}", lambda p: "link" in p)
    assert without_meta(survivor) == out["result"]  # the answer said what the view shows
    provenance = eventually(
        server, f"/fhir/Patient/{source}/$everything?_type=Provenance", lambda b: b["total"] == 1
    )["entry"][0]["resource"]
    assert provenance["agent"][0]["who"]["display"] == "dr-zhao"
    assert provenance["activity"]["coding"][0]["code"] == "merge"
    reach = eventually(server, f"/fhir/Patient/{target}/$everything?_type=Encounter")
    assert encounter_id("inc-api-merge") in {e["resource"]["id"] for e in reach["entry"]}

    again = by_reference(server, "merge", source, target)
    assert again.status_code == 200
    assert "already merged" in again.text

    undo = by_reference(server, "unmerge", source, target)
    assert undo.status_code == 200, undo.text
    undone = {p["name"]: p["resource"] for p in undo.json()["parameter"]}
    assert undone["source"] == before[source] and undone["result"] == before[target]
    for rid in (source, target):
        after = eventually(server, f"/fhir/Patient/{rid}", lambda p: "link" not in p)
        assert without_meta(after) == before[rid]
    twice = by_reference(server, "unmerge", source, target)
    assert twice.status_code == 409
    assert twice.json()["resourceType"] == "OperationOutcome"


def test_merge_by_identifier_and_r4_value_string(server: Server, mllp: MllpListener) -> None:
    source = hospital_patient(server, mllp, "H-810")
    target = hospital_patient(server, mllp, "H-811")
    by_identifier = (
        by_mrn("source", "H-810"),
        ("target-patient", "valueString", f"Patient/{target}"),
    )
    resp = post(server, "merge", params(*by_identifier, ("preview", "valueBoolean", True)))
    assert resp.status_code == 200, resp.text
    assert "preview" in resp.text
    resp = post(server, "merge", params(*by_identifier))
    assert resp.status_code == 200, resp.text
    eventually(server, f"/fhir/Patient/{source}", lambda p: p.get("active") is False)


def test_refusals_are_operation_outcomes(server: Server, mllp: MllpListener) -> None:
    a = hospital_patient(server, mllp, "H-820")
    b = hospital_patient(server, mllp, "H-821")
    c = hospital_patient(server, mllp, "H-822")

    unknown = by_reference(server, "merge", "no-such-patient", b)
    assert unknown.status_code == 404
    issue = unknown.json()["issue"][0]
    assert issue["code"] == "not-found" and issue["expression"] == ["source-patient"]

    source_a = ("source-patient", "valueReference", ref(a))
    unknown_target = post(server, "merge", params(source_a, by_mrn("target", "nope")))
    assert unknown_target.status_code == 404
    assert unknown_target.json()["issue"][0]["expression"] == ["target-patient"]

    missing = post(server, "merge", params(source_a))
    assert missing.status_code == 400 and missing.json()["issue"][0]["code"] == "required"
    itself = by_reference(server, "merge", a, a)
    assert itself.status_code == 400
    not_parameters = post(server, "merge", {"resourceType": "Patient"})
    assert not_parameters.status_code == 400

    first = by_reference(server, "merge", a, b)
    assert first.status_code == 200
    eventually(server, f"/fhir/Patient/{a}", lambda p: "link" in p)
    elsewhere = by_reference(server, "merge", a, c)
    assert elsewhere.status_code == 409
    assert elsewhere.json()["issue"][0]["code"] == "business-rule"
    into_inactive = by_reference(server, "merge", c, a)
    assert into_inactive.status_code == 409
    wrong_result = by_reference(
        server, "merge", c, b, ("result-patient", "resource", {"resourceType": "Patient", "id": c})
    )
    assert wrong_result.status_code == 422


def test_capability_statement_lists_merge_and_unmerge(server: Server) -> None:
    meta = httpx.get(f"{server.base_url}/fhir/metadata", timeout=10).json()
    patient = next(r for r in meta["rest"][0]["resource"] if r["type"] == "Patient")
    assert {"merge", "unmerge"} <= {op["name"] for op in patient["operation"]}
