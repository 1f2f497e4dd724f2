"""Jurisdiction, proven over the route table (issue 11): two hospitals, two stations, two
clinics and a reading centre each record their own patients through the public APIs; then
every GET route of the policy table (services/auth/policy.py RULES), filled with the ids of
every stored resource, is called by every organization's token over real HTTP, on each
backend pair. No answer may contain a patient of another organization (its resident ID or
Patient id), unless the request itself named it; and each organization still reads its
own patients (200 with the data).

Which patients an organization may see is written here from the scenario, not from the
code under test: a hospital sees the incident pre-alerted to it, a station its own
incident, a clinic the ECG it sent, the reading centre every ECG it reads (clinic ECGs and
the ambulance ECGs routed to it).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product

import httpx
import pytest

from avro_schemas.catalogue import IDENTITY
from kernel.jsontypes import Json
from services.auth.policy import RULES
from services.server import Server
from services.simulate.stemi_incident import stemi_incident
from tests.adt_messages import adt
from tests.bulk_export import finished_export
from tests.ecg_payloads import ecg_payload
from tests.integration.test_mllp_intake import exchange, msa
from tests.tokens import bearer

WAIT_S = 60.0
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643-1999


def resident(first17: str) -> str:
    """A resident ID with its GB 11643 MOD 11-2 check character (written from the standard)."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


@dataclass(frozen=True)
class Party:
    role: str
    site: str
    sees: frozenset[str]  # the scenario's patient keys this party may see


# The scenario's patients, by key: A and B come by ambulance, CA and CB to clinics.
RESIDENTS = {
    "A": resident("51012219600101123"),
    "B": resident("51012219610202234"),
    "CA": resident("51012219620303345"),
    "CB": resident("51012219630404456"),
}
STATION_A, STATION_B = "station-a", "station-b"
HOSPITAL_A, HOSPITAL_B = "hospital-a", "hospital-b"
CLINIC_A, CLINIC_B = "clinic-a", "clinic-b"


def parties(centre: str) -> dict[str, Party]:
    return {
        "hospital A": Party("hospital", HOSPITAL_A, frozenset({"A"})),
        "hospital B": Party("hospital", HOSPITAL_B, frozenset({"B"})),
        "station A": Party("crew", STATION_A, frozenset({"A"})),
        "clinic A": Party("clinic", CLINIC_A, frozenset({"CA"})),
        "clinic B": Party("clinic", CLINIC_B, frozenset({"CB"})),
        "reading centre": Party("reader", centre, frozenset({"A", "B", "CA", "CB"})),
        "other centre": Party("reader", "centre-elsewhere", frozenset()),
    }


# Streams never end: their first frames are the pages' data, read through the JSON twins.
STREAMS = {"/board/{hospital_id}/events", "/region/events"}


@pytest.fixture
def scenario(make_server: Callable[..., Server]) -> Iterator[tuple[Server, dict[str, Json]]]:
    server = make_server(
        auth_required=True,
        auth_dev_issuer=True,
        rate_limit_per_s=0,
        hl7_peers={HOSPITAL_B: ["127.0.0.0/8"]},  # hospital B's HIS sends ADT over MLLP
    )
    tag = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for key, station, hospital in (("A", STATION_A, HOSPITAL_A), ("B", STATION_B, HOSPITAL_B)):
            send_stemi(client, server, f"inc-{key}-{tag}", RESIDENTS[key], (station, hospital))
        for key, clinic in (("CA", CLINIC_A), ("CB", CLINIC_B)):
            body = ecg_payload(ecg_id=f"ecg-{key}-{tag}", resident=RESIDENTS[key])
            body["site"] = {"id": clinic, "name": clinic, "kind": "clinic"}
            answer = client.post("/ingest/ecg", json=body, headers=bearer(server, "clinic", clinic))
            assert answer.status_code == 202, answer.text
    wait_folded(server)
    yield server, patient_ids(server)


def send_stemi(
    client: httpx.Client, server: Server, incident: str, resident_id: str, route: tuple[str, str]
) -> None:
    """The crew of station `route[0]` sends, with a token of that station, a whole STEMI
    incident of `resident_id` bound for hospital `route[1]`."""
    station, hospital = route
    events = stemi_incident(
        incident, resident_id=resident_id, station_id=station, destination_id=hospital
    )
    batch = {"expected_version": 0, "device_id": f"tab-{incident}", "events": events}
    answer = client.post(
        f"/ingest/incidents/{incident}/events",
        json=batch,
        headers=bearer(server, "crew", station),
    )
    assert answer.status_code == 202, answer.text


def wait_folded(server: Server) -> None:
    deadline = time.monotonic() + WAIT_S
    while server.system.lag() > 0 or not _all_patients(server):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the processors never caught up within {WAIT_S} s "
                f"(lag {server.system.lag()}, patients {sorted(_all_patients(server))})"
            )
        time.sleep(0.2)
    time.sleep(0.5)  # derived events (measurements, routed ECGs) are folded in a second pass
    deadline = time.monotonic() + WAIT_S
    while server.system.lag() > 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"derived events never folded within {WAIT_S} s")
        time.sleep(0.2)


def _all_patients(server: Server) -> dict[str, Json]:
    found = {}
    for stored in server.system.store.scan():  # outside a request: the system's view
        if stored.resource_type == "Patient":
            body = json.loads(stored.body)
            for ident in body.get("identifier", []):
                for key, value in RESIDENTS.items():
                    if ident.get("value") == value:
                        found[key] = body
    return found


def patient_ids(server: Server) -> dict[str, Json]:
    found = _all_patients(server)
    assert set(found) == set(RESIDENTS), sorted(found)
    return found


def markers(patients: dict[str, Json], keys: set[str]) -> dict[str, str]:
    """What betrays a patient in an answer: its resident ID and its Patient id."""
    out = {}
    for key in keys:
        out[RESIDENTS[key]] = key
        out[patients[key]["id"]] = key
    return out


def concrete_paths(
    template: str, ids: dict[str, list[str]], refs: list[tuple[str, str]]
) -> list[str]:
    """The template filled with every value the scenario has for its parameters; a
    resource's type and id go together (every stored resource, by its own type)."""
    if "{rid}" in template:
        fixed = template.split("/")[2]  # /fhir/Patient/{rid}/$everything: Patients only
        pairs = [
            template.replace("{rtype}", rt).replace("{rid}", rid)
            for rt, rid in refs
            if fixed in ("{rtype}", rt)
        ]
        return [p.replace("{vid}", "1") for p in pairs]
    names = [p.split("}")[0].split(":")[0] for p in template.split("{")[1:]]
    missing = [n for n in names if n not in ids]
    assert not missing, f"{template}: give the matrix values for {missing} (scenario_ids)"
    paths = []
    for values in product(*(ids[n] for n in names)):
        path = template
        for name, value in zip(names, values, strict=True):
            path = path.replace("{" + name + "}", value, 1)
        paths.extend(path + q for q in QUERIES.get(template, [""]))
    return paths


def searches(patients: dict[str, Json]) -> list[str]:
    """Queries a type search is called with: everything, by each patient, with includes."""
    out = ["?_count=200", "?_count=200&_revinclude=*&_include=*"]
    for key, patient in patients.items():
        out += [f"?patient=Patient/{patient['id']}", f"?subject=Patient/{patient['id']}"]
        out += [f"?identifier={RESIDENTS[key]}"]
    return out


QUERIES: dict[str, list[str]] = {}


def scenario_ids(server: Server) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Values for every path parameter of the route table, and every stored FHIR resource."""
    refs = sorted(
        {
            (s.resource_type, s.id)
            for s in server.system.store.scan()
            if s.resource_type not in INTERNAL
        }
    )
    ids = {
        "rtype": sorted({t for t, _ in refs}),
        "incident_id": sorted(_incident_ids(server)),
        "ecg_id": sorted(_ecg_ids(server)),
        "hospital_id": [HOSPITAL_A, HOSPITAL_B],
        "group": [HOSPITAL_A, HOSPITAL_B],
        "sid": ["none"],
        "mci_id": ["none"],  # no mass-casualty incident in this scenario
        "vid": ["1"],
        "job_id": ["0" * 32],
        "file_name": ["Patient.ndjson"],
    }
    return ids, refs


INTERNAL = {
    "IncidentRecord",
    "QueueItem",
    "IncomingAmbulance",
    "OutboxItem",
    "UnitState",
    "SubscriptionState",
    "SubscriptionEvent",
    "IncidentEcgState",
}


def _incident_ids(server: Server) -> set[str]:
    return {
        json.loads(s.body)["incident_id"]
        for s in server.system.store.scan()
        if s.resource_type == "IncidentRecord"
    }


def _ecg_ids(server: Server) -> set[str]:
    return {
        json.loads(s.body)["ecg_id"]
        for s in server.system.store.scan()
        if s.resource_type == "QueueItem"
    }


def get_routes() -> list[str]:
    return [r.template for r in RULES if "GET" in r.methods and not r.public and r.template]


def test_no_answer_holds_another_organizations_patient(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, patients = scenario
    ids, refs = scenario_ids(server)
    QUERIES["/fhir/{rtype}"] = searches(patients)
    QUERIES["/fhir/{rtype}/_history"] = ["", "?_count=200"]
    leaks: list[str] = []
    calls = 0
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for name, party in parties(server.settings.reading_centre_id).items():
            headers = bearer(server, party.role, party.site)
            foreign = markers(patients, set(RESIDENTS) - party.sees)
            for template in get_routes():
                if template in STREAMS:
                    continue
                for path in concrete_paths(template, ids, refs):
                    answer = client.get(path, headers={**headers, "Prefer": "respond-async"})
                    calls += 1
                    assert answer.status_code < 500, (name, path, answer.text[:300])
                    for marker, key in foreign.items():
                        if marker in answer.text and marker not in path:
                            leaks.append(
                                f"{name} GET {path} -> {answer.status_code}: patient {key}"
                            )
    assert calls > 1000  # the matrix really ran over the stored resources
    assert not leaks, "\n".join(leaks[:40])


def test_each_organization_still_reads_its_own_patients(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, patients = scenario
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for name, party in parties(server.settings.reading_centre_id).items():
            if party.role == "crew":
                continue  # crews write through the tablet API; they have no FHIR read scope
            headers = bearer(server, party.role, party.site)
            for key in party.sees:
                pid = patients[key]["id"]
                read = client.get(f"/fhir/Patient/{pid}", headers=headers)
                assert read.status_code == 200, (name, key, read.text[:200])
                assert RESIDENTS[key] in read.text
                everything = client.get(f"/fhir/Patient/{pid}/$everything", headers=headers)
                assert everything.status_code == 200, (name, key, everything.text[:200])
                assert everything.json()["total"] >= 2, (name, key)  # the Patient and more
            for key in set(RESIDENTS) - party.sees:
                pid = patients[key]["id"]
                assert client.get(f"/fhir/Patient/{pid}", headers=headers).status_code == 404


def test_a_hospital_sees_its_incoming_patients_on_its_board_only(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, patients = scenario
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        own = client.get(
            f"/board/{HOSPITAL_A}.json", headers=bearer(server, "hospital", HOSPITAL_A)
        )
        assert own.status_code == 200 and "inc-A-" in own.text and "inc-B-" not in own.text
        other = client.get(
            f"/board/{HOSPITAL_B}.json", headers=bearer(server, "hospital", HOSPITAL_A)
        )
        assert other.status_code == 403


def test_an_export_holds_only_the_exporters_patients(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, patients = scenario
    headers = bearer(server, "hospital", HOSPITAL_A)
    foreign = markers(patients, set(RESIDENTS) - {"A"})
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        status = finished_export(client, f"/fhir/Group/{HOSPITAL_A}/$export", headers, WAIT_S)
        lines = []
        for output in status.json()["output"]:
            lines += client.get(output["url"], headers=headers).text.splitlines()
    exported = "\n".join(lines)
    assert RESIDENTS["A"] in exported  # the hospital's own incoming patient is there
    assert not [key for marker, key in foreign.items() if marker in exported]


def test_a_search_is_audited_with_the_patients_it_returned(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, patients = scenario
    pid = patients["A"]["id"]
    admin = bearer(server, "admin", "")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        # a search naming no patient: the audit learns whom it returned from the answer
        found = client.get(
            "/fhir/Observation?_count=200", headers=bearer(server, "hospital", HOSPITAL_A)
        )
        assert found.status_code == 200 and pid in found.text
        deadline = time.monotonic() + WAIT_S
        while True:
            audit = client.get(f"/fhir/AuditEvent?entity=Patient/{pid}&_count=500", headers=admin)
            assert audit.status_code == 200, audit.text
            searches = [
                e["resource"]
                for e in audit.json().get("entry", [])
                if e["resource"].get("entity")
                and any(
                    x.get("description") == "/fhir/Observation" for x in e["resource"]["entity"]
                )
            ]
            if searches:
                break
            assert time.monotonic() < deadline, "the search's AuditEvent never named the Patient"
            time.sleep(0.2)
    others = {patients[k]["id"] for k in ("B", "CA", "CB")}
    named = {x["what"]["reference"] for x in searches[0]["entity"] if "what" in x}
    assert f"Patient/{pid}" in named and not {f"Patient/{o}" for o in others} & named


def test_an_adt_cannot_link_another_hospitals_incident(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    """Hospital B's HIS admits a patient naming hospital A's incident in PV1-50: the
    incident is unknown to B (AE naming PV1-50), nothing is linked, A's patient unchanged."""
    server, patients = scenario
    assert server.mllp is not None
    incident_a = next(i for i in _incident_ids(server) if i.startswith("inc-A-"))
    links_before = sum(server.system.log.end_offsets(IDENTITY).values())
    message = adt("A01", mrn="B-1", hospital=HOSPITAL_B, incident=incident_a)
    ack = exchange(server.mllp, message)
    assert msa(ack)[0] == "AE", ack
    err = next(s for s in ack if s[0] == "ERR")
    assert err[2].startswith("PV1^1^50"), err
    assert sum(server.system.log.end_offsets(IDENTITY).values()) == links_before
    assert "link" not in json.loads(server.system.store.read("Patient", patients["A"]["id"]).body)


def test_merge_of_another_hospitals_patient_is_refused_even_as_preview(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, patients = scenario
    a, b = patients["A"]["id"], patients["B"]["id"]
    links_before = sum(server.system.log.end_offsets(IDENTITY).values())
    headers = bearer(server, "hospital", HOSPITAL_B)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for preview in (True, False):
            body = {
                "resourceType": "Parameters",
                "parameter": [
                    {"name": "source-patient", "valueReference": {"reference": f"Patient/{a}"}},
                    {"name": "target-patient", "valueReference": {"reference": f"Patient/{b}"}},
                    {"name": "preview", "valueBoolean": preview},
                ],
            }
            answer = client.post("/fhir/Patient/$merge", json=body, headers=headers)
            assert answer.status_code == 404, (preview, answer.text)
            assert RESIDENTS["A"] not in answer.text
    assert sum(server.system.log.end_offsets(IDENTITY).values()) == links_before


def test_a_handover_is_accepted_once_and_only_by_its_destination(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, _ = scenario
    incident_a = next(i for i in _incident_ids(server) if i.startswith("inc-A-"))
    accept = f"/board/{{}}/incidents/{incident_a}/accept"
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        first = client.post(
            accept.format(HOSPITAL_A), json={}, headers=bearer(server, "hospital", HOSPITAL_A)
        )
        assert first.status_code == 202, first.text
        assert first.json()["accepted_by"] == f"hospital-{HOSPITAL_A}"  # the token's subject
        imposter = client.post(
            accept.format(HOSPITAL_B), json={}, headers=bearer(server, "hospital", HOSPITAL_B)
        )
        assert imposter.status_code in (404, 409), imposter.text
        named_other = client.post(
            accept.format(HOSPITAL_A),
            json={"accepted_by": "someone-else"},
            headers=bearer(server, "hospital", HOSPITAL_A),
        )
        assert named_other.status_code == 403, named_other.text
        again = client.post(
            accept.format(HOSPITAL_A), json={}, headers=bearer(server, "hospital", HOSPITAL_A)
        )
        assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["accepted_at"] == first.json()["accepted_at"]


def test_who_acts_comes_from_the_token_not_the_body(
    scenario: tuple[Server, dict[str, Json]],
) -> None:
    server, _ = scenario
    centre = server.settings.reading_centre_id
    reader = bearer(server, "reader", centre)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        body = ecg_payload(resident=RESIDENTS["CA"])
        body["site"] = {"id": CLINIC_B, "name": CLINIC_B, "kind": "clinic"}
        forged = client.post("/ingest/ecg", json=body, headers=bearer(server, "clinic", CLINIC_A))
        assert forged.status_code == 403 and "site.id" in forged.text, forged.text
        other_reader = client.post("/reading/claims", json={"reader_id": "赵医生"}, headers=reader)
        assert other_reader.status_code == 403, other_reader.text
        claimed = client.post("/reading/claims", json={}, headers=reader)
        assert claimed.status_code == 200, claimed.text
        fix = {
            "event_id": str(uuid.uuid4()),
            "unit_id": "amb-b1",
            "station_id": STATION_B,
            "occurred_at": "2026-12-01T08:00:00+08:00",
            "latitude": 30.1,
            "longitude": 104.2,
        }
        crew_a = bearer(server, "crew", STATION_A)
        moved = client.post("/ingest/positions", json={"positions": [fix]}, headers=crew_a)
        assert moved.status_code == 403, moved.text
