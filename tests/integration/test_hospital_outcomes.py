"""A hospital reports its outcomes back through FHIR (issue 13 item 4, issue 12 item 4), on
each backend pair, over real HTTP with the hospital's token: a PCI Procedure created with a
third-party client (fhirpy), a conditional create sent twice (one resource), an update with
a stale ETag (412), a transaction Bundle with one bad entry (nothing written), a hospital
writing about another hospital's patient (404, as for a patient that does not exist).
Then the KPI report: door-to-balloon and the triage outcome loop equal a hand computation
of the fixed scenario below.

Scenario (times from services/simulate/stemi_incident.py: call at 09:40 CST, STEMI pre-alert,
AT_DESTINATION 35 min after the call, i.e. 10:15 CST on 2026-11-23):
- incident A goes to hospital A; A reports a PCI with its device time at 11:02 CST
  (door to balloon 47 min, within the 90 min target) and STEMI confirmed (a true positive);
- incident B goes to hospital B; B reports STEMI refuted (the pre-alert was a false
  positive), and no PCI.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhirclient.models.condition import Condition as FcCondition
from fhirclient.server import FHIRServer
from fhirpy import SyncFHIRClient

from kernel.jsontypes import Json
from services.server import Server
from tests.adt_messages import adt
from tests.integration.test_jurisdiction_matrix import resident, send_stemi
from tests.integration.test_mllp_intake import exchange, msa
from tests.tokens import bearer

WAIT_S = 60.0
SNOMED = "http://snomed.info/sct"
PCI = {"system": SNOMED, "code": "415070008", "display": "Percutaneous coronary intervention"}
STEMI = {
    "system": SNOMED,
    "code": "401303003",
    "display": "Acute ST segment elevation myocardial infarction",
}
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
HOSPITAL_A, HOSPITAL_B = "hospital-a", "hospital-b"
RESIDENTS = {"A": resident("51012219600101123"), "B": resident("51012219610202234")}
DEVICE_AT = "2026-11-23T11:02:00+08:00"  # 47 min after AT_DESTINATION (10:15 CST)


def wait_for(what: str, found: Callable[[], object]) -> object:
    deadline = time.monotonic() + WAIT_S
    while not (value := found()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not appear within {WAIT_S} s")
        time.sleep(0.2)
    return value


@pytest.fixture
def scenario(make_server: Callable[..., Server]) -> Iterator[tuple[Server, dict[str, Json]]]:
    """Two ambulance STEMIs, A to hospital A and B to hospital B; the ids of each one's
    Patient and ambulance Encounter as its hospital sees them."""
    server = make_server(
        auth_required=True,
        auth_dev_issuer=True,
        rate_limit_per_s=0,
        hl7_peers={HOSPITAL_A: ["127.0.0.0/8"]},  # hospital A's HIS sends ADT over MLLP
    )
    tag = uuid.uuid4().hex[:6]
    seen: dict[str, Json] = {}
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for key, hospital in (("A", HOSPITAL_A), ("B", HOSPITAL_B)):
            route = (f"station-{key.lower()}", hospital)
            send_stemi(client, server, f"inc-{key}-{tag}", RESIDENTS[key], route)
        for key, hospital in (("A", HOSPITAL_A), ("B", HOSPITAL_B)):
            seen[key] = wait_seen(client, bearer(server, "hospital", hospital), key)
    yield server, seen


def wait_seen(client: httpx.Client, headers: dict[str, str], key: str) -> Json:
    """The patient and ambulance Encounter of incident `key`, once its hospital sees them."""
    deadline = time.monotonic() + WAIT_S
    while (found := _seen(client, headers, key)) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"hospital {key}'s patient did not appear within {WAIT_S} s")
        time.sleep(0.2)
    return found


def _seen(client: httpx.Client, headers: dict[str, str], key: str) -> Json | None:
    patients = client.get("/fhir/Patient", params={"identifier": RESIDENTS[key]}, headers=headers)
    entries = patients.json().get("entry", [])
    if not entries:
        return None
    pid = entries[0]["resource"]["id"]
    encounters = client.get(
        "/fhir/Encounter", params={"subject": f"Patient/{pid}"}, headers=headers
    )
    found = encounters.json().get("entry", [])
    return {"patient": pid, "encounter": found[0]["resource"]["id"]} if found else None


def procedure(ids: Json, **extra: object) -> Json:
    return {
        "resourceType": "Procedure",
        "status": "completed",
        "code": {"coding": [PCI], "text": "primary PCI"},
        "subject": {"reference": f"Patient/{ids['patient']}"},
        "encounter": {"reference": f"Encounter/{ids['encounter']}"},
        "performedDateTime": DEVICE_AT,
        **extra,
    }


def condition(ids: Json, verification: str) -> Json:
    return {
        "resourceType": "Condition",
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]},
        "code": {"coding": [STEMI]},
        "subject": {"reference": f"Patient/{ids['patient']}"},
        "encounter": {"reference": f"Encounter/{ids['encounter']}"},
    }


def valid(resource: Json) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(dict(resource))


def folded(server: Server) -> None:
    wait_for("the views", lambda: server.system.lag() == 0)


def test_hospital_outcomes__create_conditional_if_match_and_feedback(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, ids = scenario
    headers = bearer(server, "hospital", HOSPITAL_A)
    fhir = SyncFHIRClient(f"{server.base_url}/fhir", authorization=headers["Authorization"])

    # create, with a client written elsewhere
    created = fhir.resource("Procedure", **procedure(ids["A"]))
    created.save()
    assert created.id and created["meta"]["versionId"] == "1"
    folded(server)
    read = fhir.reference("Procedure", created.id).to_resource()
    valid(dict(read))
    assert read["performedDateTime"] == DEVICE_AT
    assert read["code"]["coding"][0]["code"] == "415070008"
    found = fhir.resources("Procedure").search(patient=ids["A"]["patient"], code="415070008")
    assert created.id in {r.id for r in found.fetch_all()}

    with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as client:
        # conditional create twice: one resource, the second answer names it (200)
        body = condition(ids["A"], "confirmed") | {
            "identifier": [{"system": "urn:hospital-a:dx", "value": "DX-1"}]
        }
        cond = {"If-None-Exist": "identifier=urn:hospital-a:dx|DX-1"}
        first = client.post("/fhir/Condition", json=body, headers=cond)
        assert first.status_code == 201, first.text
        assert first.headers["Location"].endswith(f"/Condition/{first.json()['id']}/_history/1")
        again = client.post("/fhir/Condition", json=body | {"note": [{"text": "x"}]}, headers=cond)
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        # the very same request again: the first answer, replayed
        replay = client.post("/fhir/Condition", json=body, headers=cond)
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == first.json()
        folded(server)
        listed = client.get("/fhir/Condition", params={"identifier": "urn:hospital-a:dx|DX-1"})
        assert listed.json()["total"] == 1

        # update with If-Match: the current ETag works, a stale one is 412
        path = f"/fhir/Procedure/{created.id}"
        later = procedure(ids["A"], id=created.id, note=[{"text": "TIMI 3 flow"}])
        ok = client.put(path, json=later, headers={"If-Match": 'W/"1"'})
        assert ok.status_code == 200, ok.text
        assert ok.headers["ETag"] == 'W/"2"'
        stale = client.put(path, json=later | {"note": []}, headers={"If-Match": 'W/"1"'})
        assert stale.status_code == 412, stale.text
        assert stale.json()["resourceType"] == "OperationOutcome"

        # an invalid resource: 422 naming the element
        bad = client.post("/fhir/Procedure", json=procedure(ids["A"], status="finished-ish"))
        assert bad.status_code == 422
        assert any("status" in e for i in bad.json()["issue"] for e in i.get("expression", []))

    folded(server)
    assert fhir.reference("Procedure", created.id).to_resource()["meta"]["versionId"] == "2"
    # feedback: the reading centre sees the outcome of the patient it read for
    centre = server.settings.reading_centre_id
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        as_reader = client.get(path, headers=bearer(server, "reader", centre))
        assert as_reader.status_code == 200, as_reader.text
        as_other = client.get(path, headers=bearer(server, "hospital", HOSPITAL_B))
        assert as_other.status_code == 404


def test_another_hospitals_patient_is_404_and_a_bad_transaction_writes_nothing(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, ids = scenario
    headers = bearer(server, "hospital", HOSPITAL_A)
    with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as client:
        foreign = client.post("/fhir/Procedure", json=procedure(ids["B"]))
        assert foreign.status_code == 404, foreign.text
        unknown = procedure(ids["A"]) | {"subject": {"reference": "Patient/no-such-patient"}}
        assert client.post("/fhir/Procedure", json=unknown).status_code == 404

        good = {
            "fullUrl": "urn:uuid:0b1c6f3e-2a3d-4c1e-9f7a-1e2d3c4b5a69",
            "resource": procedure(ids["A"]),
            "request": {"method": "POST", "url": "Procedure"},
        }
        broken = {
            "resource": condition(ids["A"], "confirmed") | {"onsetDateTime": "yesterday"},
            "request": {"method": "POST", "url": "Condition"},
        }
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [good, broken]}
        refused = client.post("/fhir", json=bundle)
        assert refused.status_code == 422, refused.text
        assert "Bundle.entry[1]" in refused.json()["issue"][0]["expression"]
        before = server.system.log.end_offsets("hospital.outcome")
        assert sum(before.values()) == 0  # nothing written

        fixed = condition(ids["A"], "confirmed") | {
            "evidence": [{"detail": [{"reference": good["fullUrl"]}]}]
        }
        bundle["entry"] = [good, {**broken, "resource": fixed}]
        done = client.post("/fhir", json=bundle)
        assert done.status_code == 200, done.text
        answer = done.json()
        assert answer["type"] == "transaction-response"
        assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created"] * 2
        procedure_ref = answer["entry"][0]["response"]["location"].split("/_history")[0]
        evidence = answer["entry"][1]["resource"]["evidence"][0]["detail"][0]["reference"]
        assert evidence == procedure_ref  # the urn:uuid was replaced by the id given
        again = client.post("/fhir", json=bundle)
        assert again.json() == answer and again.headers["Idempotent-Replayed"] == "true"


def test_kpis__door_to_balloon_and_triage_outcome_equal_the_hand_computation(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, ids = scenario
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        a = bearer(server, "hospital", HOSPITAL_A)
        b = bearer(server, "hospital", HOSPITAL_B)
        assert (
            client.post("/fhir/Procedure", json=procedure(ids["A"]), headers=a).status_code == 201
        )
        answer = client.post("/fhir/Condition", json=condition(ids["A"], "confirmed"), headers=a)
        assert answer.status_code == 201, answer.text
        # hospital B's EMR uses another third-party client, fhirclient (SMART Health IT)
        emr = FHIRServer(None, base_uri=f"{server.base_url}/fhir/")
        emr.session.headers["Authorization"] = b["Authorization"]
        refuted = FcCondition(condition(ids["B"], "refuted"))
        created = refuted.create(emr)
        assert created is not None and created["resourceType"] == "Condition"
        quality = bearer(server, "quality", "county")
        report = client.get("/kpi", headers=quality).json()
        page = client.get("/kpi/report", params={"lang": "en"}, headers=quality).text
    d2b = next(k for k in report["kpis"] if k["code"] == "door_to_balloon")
    assert d2b["available"] and d2b["target_minutes"] == 90
    assert d2b["all"]["cases"] == 1 and d2b["all"]["measured"] == 1
    assert d2b["all"]["median_min"] == 47.0 and d2b["all"]["within_target"] == 1
    rows = {r["month"]: r for r in report["triage_outcome"]["rows"]}
    expected = {"tp": 1, "fp": 1, "fn": 0, "tn": 0, "pending": 0}
    assert {k: rows["all"][k] for k in expected} == expected
    assert {k: rows["2026-11"][k] for k in expected} == expected
    # the KPI page shows the same loop (the month's row: 1 1 0 0 0, PPV 50%, sensitivity 100%)
    assert 'id="triage-outcome"' in page
    month_row = page.split('data-month="2026-11">', 1)[1].split("</tr>", 1)[0]
    cells = [c.split("</td>")[0] for c in month_row.split("<td>")[2:]]
    assert cells == ["1", "1", "0", "0", "0", "50%", "100%"]


DISPOSITION = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
            "code": "home",
        }
    ]
}


def test_encounter_disposition__set_with_if_match_and_kept_by_later_adt(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, ids = scenario
    assert server.mllp is not None
    admit = adt("A01", mrn="A-1", resident=RESIDENTS["A"], hospital=HOSPITAL_A, visit="V-1")
    assert msa(exchange(server.mllp, admit))[0] == "AA"
    headers = bearer(server, "hospital", HOSPITAL_A)
    with httpx.Client(base_url=server.base_url, timeout=30, headers=headers) as client:
        visit = f"urn:goldenhour:visit:{HOSPITAL_A}|V-1"

        def hospital_encounter() -> Json | None:
            found = client.get("/fhir/Encounter", params={"identifier": visit}).json()
            return found["entry"][0]["resource"] if found.get("entry") else None

        enc: Json = wait_for("the hospital Encounter", hospital_encounter)  # type: ignore[assignment]
        body = {k: v for k, v in enc.items() if k != "meta"}
        body["hospitalization"] = {"dischargeDisposition": DISPOSITION}
        path = f"/fhir/Encounter/{enc['id']}"
        etag = f'W/"{enc["meta"]["versionId"]}"'
        assert client.put(path, json=body, headers={"If-Match": 'W/"99"'}).status_code == 412
        done = client.put(path, json=body, headers={"If-Match": etag})
        assert done.status_code == 200, done.text
        ambulance = {"resourceType": "Encounter", "id": ids["A"]["encounter"], "status": "finished"}
        ambulance |= {
            "class": enc["class"],
            "hospitalization": {"dischargeDisposition": DISPOSITION},
        }
        refused = client.put(f"/fhir/Encounter/{ids['A']['encounter']}", json=ambulance)
        assert refused.status_code == 422, refused.text

        def disposed() -> Json | None:
            now = client.get(path).json()
            return now if "hospitalization" in now else None

        disposed_enc: Json = wait_for("the disposition", disposed)  # type: ignore[assignment]
        assert disposed_enc["hospitalization"]["dischargeDisposition"] == DISPOSITION
        valid(disposed_enc)
        moved = adt("A02", mrn="A-1", resident=RESIDENTS["A"], hospital=HOSPITAL_A, visit="V-1")
        assert msa(exchange(server.mllp, moved))[0] == "AA"
        folded(server)
        later = client.get(path).json()
        assert int(later["meta"]["versionId"]) > int(disposed_enc["meta"]["versionId"])
        assert later["hospitalization"]["dischargeDisposition"] == DISPOSITION
