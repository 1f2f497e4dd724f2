"""FHIR R4 search and REST conformance, driven by two clients written elsewhere - fhirpy
(beda.software) and fhirclient (SMART Health IT) - against the real server on each backend
pair. Results are asserted, not only statuses: a comma-OR count equals the sum of its single
counts, a prefix bracket returns exactly the resources in range (expected sets written here
from the R4 search page, search.html, for the data this test posts), and every answer
validates with fhir.resources R4B.

The data: four patients with known sexes, birth dates and names, each with one ECG taken at a
known instant with a known heart rate (an ECG Observation with MDC code 131328 and the
device's heart rate as a component in UCUM /min).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhirclient.models.observation import Observation as FcObservation
from fhirclient.models.patient import Patient as FcPatient
from fhirclient.server import FHIRServer
from fhirpy import SyncFHIRClient

from services.server import Server
from services.settings import Settings
from tests.conftest import BACKENDS, backend_urls, free_port
from tests.ecg_payloads import ecg_payload
from tests.integration.test_ecg_slice import wait_for

Json = dict[str, Any]

# Written from the standards, not imported from the code under test.
MDC = "urn:iso:std:iso:11073:10101"  # FHIR's URI for ISO/IEEE 11073-10101
ECG = f"{MDC}|131328"  # MDC_ECG_ELEC_POTL
HR_UNIT = "|http://unitsofmeasure.org|/min"
MRN = "https://hospital.example.org/mrn"
TOPIC_CANONICAL = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "capabilitystatement-subscriptiontopic-canonical"
)
SUBSETTED = "SUBSETTED"
COMMON = {"_id": {"_id": "x"}, "_lastUpdated": {"_lastUpdated": "ge2000"}}

# key: (MRN, sex, birth date, family, given, ECG instant, heart rate)
PEOPLE = {
    "p1": ("C-1", "male", "1949-12-31", "王", "建国", "2024-01-10T08:00:00+08:00", 55),
    "p2": ("C-2", "female", "1960-03-15", "李", "秀英", "2024-03-05T10:30:00+08:00", 75),
    "p3": ("C-3", "male", "1975-06-01", "张", "伟", "2024-03-20T23:30:00+08:00", 100),
    "p4": ("C-4", "female", "1990-01-20", "Müller", "Anna", "2025-07-01T09:00:00+08:00", 130),
}


class Seeded:
    """A server with the four patients' ECGs folded; ids by the keys of PEOPLE."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=60)
        self.fhirpy = SyncFHIRClient(f"{server.base_url}/fhir")
        self.fhirclient = FHIRServer(None, base_uri=f"{server.base_url}/fhir/")
        self.patient: dict[str, str] = {}
        self.ecg: dict[str, str] = {}

    def post(self, key: str) -> None:
        mrn, sex, born, family, given, at, rate = PEOPLE[key]
        patient = {
            "identifiers": [{"system": MRN, "value": mrn}],
            "family": family,
            "given": given,
            "gender": sex,
            "birth_date": born,
        }
        measurements = {"heart_rate_bpm": rate, "qrs_ms": 92, "statements": []}
        body = ecg_payload(patient=patient, acquired_at=at, measurements=measurements)
        answer = self.http.post("/ingest/ecg", json=body)
        assert answer.status_code == 202, answer.text
        self.patient[key] = answer.json()["patient"].split("/")[1]
        self.ecg[key] = answer.json()["observation"].split("/")[1]

    def settle(self) -> None:
        """Waits until every ECG, its measurements and its read Task are searchable."""
        deadline = time.monotonic() + 60
        while self.total("Observation", {}) < 8 or self.total("Task", {}) < 4:
            assert time.monotonic() < deadline, "the ECGs were never all folded"
            time.sleep(0.2)
        for key in PEOPLE:
            wait_for(self.http, f"/fhir/Patient/{self.patient[key]}")

    def bundle(self, rtype: str, params: Any, **headers: str) -> Json:
        answer = self.http.get(f"/fhir/{rtype}", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return checked(answer.json())

    def total(self, rtype: str, params: Any) -> int:
        return int(self.bundle(rtype, params)["total"])

    def matches(self, rtype: str, params: Any) -> set[str]:
        """Keys (p1..p4) of the patients whose resources match: Patients themselves, or the
        ECG Observations of PEOPLE."""
        ids = {
            e["resource"]["id"]
            for e in self.bundle(rtype, params).get("entry", [])
            if e["search"]["mode"] == "match"
        }
        own = self.patient if rtype == "Patient" else self.ecg
        assert ids <= set(own.values()), ids - set(own.values())
        return {k for k, v in own.items() if v in ids}


def checked(bundle: Json) -> Json:
    """`bundle` after validating it and every resource in it (fhir.resources R4B)."""
    Bundle.model_validate(bundle)
    for entry in bundle.get("entry", []):
        valid(entry["resource"])
    return bundle


def valid(resource: Json) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(dict(resource))


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    log_url, store_url = backend_urls(request.param)
    settings = Settings(
        data_dir=Path(tmp_path_factory.mktemp("conformance")) / "data",
        log_url=log_url,
        store_url=store_url,
        http_port=free_port(),
        mllp_port=0,
        # Every client here (httpx, fhirpy, fhirclient, each test's searches) is one address,
        # 127.0.0.1, standing in for many integrators: the per-address rate limit (429,
        # tested in test_limits) would refuse the module's later requests at random.
        rate_limit_per_s=0,
    )
    server = Server(settings)
    server.start()
    try:
        data = Seeded(server)
        for key in PEOPLE:
            data.post(key)
        data.settle()
        yield data
    finally:
        server.stop()


def test_comma_is_or_and_repetition_is_and(seeded: Seeded) -> None:
    fhir = seeded.fhirpy.resources("Patient")
    male, female = fhir.search(gender="male").count(), fhir.search(gender="female").count()
    assert (male, female) == (2, 2)
    assert fhir.search(gender="male,female").count() == male + female == 4
    one, three = f"{MRN}|C-1", f"{MRN}|C-3"
    assert seeded.matches("Patient", {"identifier": f"{one},{three}"}) == {"p1", "p3"}
    ids = f"{seeded.patient['p2']},{seeded.patient['p4']}"
    assert seeded.matches("Patient", {"_id": ids}) == {"p2", "p4"}
    observations = seeded.fhirpy.resources("Observation")
    panel = "http://loinc.org|34534-8"  # the automatic measurements' 12 lead EKG panel
    singles = observations.search(code=ECG).count() + observations.search(code=panel).count()
    assert observations.search(code=f"{ECG},{panel}").count() == singles == 8
    tasks = seeded.fhirpy.resources("Task")
    statuses = ["requested", "ready", "in-progress", "completed", "cancelled"]
    assert sum(tasks.search(status=s).count() for s in statuses) == 4
    assert tasks.search(status=",".join(statuses)).count() == 4
    both = [("gender", "male"), ("birthdate", "ge1970")]
    assert seeded.matches("Patient", both) == {"p3"}  # repeated parameters: AND


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1960", {"p2"}),
        ("1960-03", {"p2"}),
        ("ge1960-03-15", {"p2", "p3", "p4"}),
        ("gt1960-03-15", {"p3", "p4"}),
        ("le1949-12-31", {"p1"}),
        ("lt1949-12-31", set()),
        ("ne1960", {"p1", "p3", "p4"}),
        ("sa1975-06-01", {"p4"}),
        ("eb1960", {"p1"}),
        ("ap1975-06-01", {"p3"}),
    ],
)
def test_birthdate_prefixes_bracket_exactly(seeded: Seeded, value: str, expected: set[str]) -> None:
    assert seeded.matches("Patient", {"birthdate": value}) == expected
    both = [("birthdate", "ge1950"), ("birthdate", "lt1980")]
    assert seeded.matches("Patient", both) == {"p2", "p3"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024", {"p1", "p2", "p3"}),
        ("2024-03", {"p2", "p3"}),  # the whole month (UTC)
        ("ge2024-03-05", {"p2", "p3", "p4"}),
        ("lt2024-03-05", {"p1"}),
        ("gt2024-03-20", {"p4"}),  # 2024-03-20T15:30Z lies inside that day, not after it
        ("le2024-03-20T15:30:00Z", {"p1", "p2", "p3"}),
        ("sa2024-03", {"p4"}),
        ("eb2024-03", {"p1"}),
        ("ne2024-03", {"p1", "p4"}),
        ("2024-03-05T10:30:00+08:00", {"p2"}),
    ],
)
def test_observation_date_prefixes_bracket_exactly(
    seeded: Seeded, value: str, expected: set[str]
) -> None:
    assert seeded.matches("Observation", {"code": ECG, "date": value}) == expected


def test_fhirclient_date_and_quantity_searches(seeded: Seeded) -> None:
    march = FcObservation.where(struct={"code": ECG, "date": {"$gte": "2024-03", "$lt": "2024-04"}})
    found = {o.id for o in march.perform_resources_iter(seeded.fhirclient)}
    assert found == {seeded.ecg["p2"], seeded.ecg["p3"]}
    born = FcPatient.where(struct={"birthdate": {"$gt": "1960-03-15"}, "gender": "female"})
    assert [p.id for p in born.perform_resources_iter(seeded.fhirclient)] == [seeded.patient["p4"]]
    ecg = {"code": ECG}
    for value, expected in (
        (f"gt99{HR_UNIT}", {"p3", "p4"}),
        (f"100{HR_UNIT}", {"p3"}),  # eq: [99.5, 100.5)
        (f"le75{HR_UNIT}", {"p1", "p2"}),
        (f"ap70{HR_UNIT}", {"p2"}),  # within 10%
        ("130||/min", {"p4"}),
    ):
        got = seeded.matches("Observation", {**ecg, "component-value-quantity": value})
        assert got == expected, value


def test_token_forms_and_modifiers(seeded: Seeded) -> None:
    assert seeded.total("Observation", {"code": "131328"}) == 4
    assert seeded.total("Observation", {"code": ECG}) == 4
    assert seeded.total("Observation", {"code": f"{MDC}|"}) == 4
    assert seeded.total("Observation", {"code": "|131328"}) == 0  # it has a system
    assert seeded.matches("Patient", {"identifier": "C-1"}) == {"p1"}
    assert seeded.matches("Patient", {"identifier": "|C-1"}) == set()
    assert seeded.matches("Patient", {"gender:not": "male"}) == {"p2", "p4"}
    assert seeded.matches("Observation", {"code:text": "12-lead"}) == set(PEOPLE)
    assert seeded.matches("Patient", {"birthdate:missing": "false"}) == set(PEOPLE)
    assert seeded.matches("Patient", {"birthdate:missing": "true"}) == set()
    assert seeded.matches("Patient", {"name": "muller"}) == {"p4"}  # accents and case
    assert seeded.matches("Patient", {"name:exact": "Müller"}) == {"p4"}
    assert seeded.matches("Patient", {"name:exact": "muller"}) == set()
    assert seeded.matches("Patient", {"family:contains": "ll"}) == {"p4"}
    assert seeded.matches("Patient", {"given:contains": "秀"}) == {"p2"}


def test_chains_has_and_include_iterate(seeded: Seeded) -> None:
    chained = {"code": ECG, "subject:Patient.identifier": f"{MRN}|C-2"}
    assert seeded.matches("Observation", chained) == {"p2"}
    assert seeded.matches("Observation", {"code": ECG, "patient.gender": "female"}) == {"p2", "p4"}
    has = {"_has:Observation:patient:component-value-quantity": f"gt99{HR_UNIT}"}
    assert seeded.matches("Patient", has) == {"p3", "p4"}
    bundle = seeded.bundle(  # Task -> its ECG Observation -> that Observation's Patient
        "Task", [("_include", "Task:focus"), ("_include:iterate", "Observation:patient")]
    )
    included = {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in bundle["entry"]
        if e["search"]["mode"] == "include"
    }
    assert {("Patient", p) for p in seeded.patient.values()} <= included
    assert {("Observation", o) for o in seeded.ecg.values()} <= included
    plain = seeded.bundle("Task", [("_include", "Task:focus")])  # without :iterate: no Patients
    assert "Patient" not in {e["resource"]["resourceType"] for e in plain["entry"]}


def test_type_wide_search_paging_sort_and_result_parameters(seeded: Seeded) -> None:
    patients = seeded.fhirpy.resources("Patient")
    assert patients.count() == 4
    every = patients.limit(1).fetch_all()  # follows next links, one per page
    assert sorted(p.id for p in every) == sorted(seeded.patient.values())
    assert seeded.total("Observation", {}) == 8
    order = [
        e["resource"]["id"] for e in seeded.bundle("Patient", {"_sort": "-birthdate"})["entry"]
    ]
    assert order == [seeded.patient[k] for k in ("p4", "p3", "p2", "p1")]
    two_keys = seeded.bundle("Patient", {"_sort": "gender,-birthdate"})["entry"]
    expected = [seeded.patient[k] for k in ("p4", "p2", "p3", "p1")]
    assert [e["resource"]["id"] for e in two_keys] == expected

    count = seeded.bundle("Patient", {"_summary": "count"})
    assert count["total"] == 4 and "entry" not in count
    assert seeded.bundle("Patient", {"_count": "0"})["total"] == 4
    assert "total" not in seeded.bundle("Patient", {"_total": "none"})
    for entry in seeded.bundle("Observation", {"_summary": "true", "code": ECG})["entry"]:
        resource = entry["resource"]
        assert SUBSETTED in {t["code"] for t in resource["meta"]["tag"]}
        # R4 marks Observation.device as not in the summary, Observation.component as in it
        assert "device" not in resource and "component" in resource
    for entry in seeded.bundle("Patient", {"_elements": "gender"})["entry"]:
        assert set(entry["resource"]) <= {"resourceType", "id", "meta", "gender"}
        assert entry["resource"]["gender"] in ("male", "female")

    posted = seeded.http.post(
        "/fhir/Patient/_search",
        content="gender=female",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200, posted.text
    ids = {e["resource"]["id"] for e in checked(posted.json())["entry"]}
    assert ids == {seeded.patient["p2"], seeded.patient["p4"]}


def test_unknown_parameters__400_or_reported_under_lenient(seeded: Seeded) -> None:
    for params in ({"colour": "blue"}, {"gender:fuzzy": "male"}, {"_include": "Patient:nope"}):
        answer = seeded.http.get("/fhir/Patient", params=params)
        assert answer.status_code == 400, params
        assert answer.json()["resourceType"] == "OperationOutcome"
    lenient = seeded.bundle(
        "Patient", {"colour": "blue", "gender": "female"}, Prefer="handling=lenient"
    )
    modes = [e["search"]["mode"] for e in lenient["entry"]]
    assert modes.count("match") == 2 and modes.count("outcome") == 1
    outcome = next(e["resource"] for e in lenient["entry"] if e["search"]["mode"] == "outcome")
    assert "colour" in outcome["issue"][0]["diagnostics"]
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "colour" not in self_link and "gender=female" in self_link


def test_capability_statement_lists_what_works(seeded: Seeded) -> None:
    doc = seeded.http.get("/fhir/metadata").json()
    CapabilityStatement.model_validate(doc)
    resources = {r["type"]: r for r in doc["rest"][0]["resource"]}
    assert "SubscriptionTopic" not in resources  # not an R4 type
    topics = [
        e["valueCanonical"]
        for e in resources["Subscription"]["extension"]
        if e["url"] == TOPIC_CANONICAL
    ]
    assert topics
    for rtype, resource in resources.items():
        for param in resource.get("searchParam", []):
            name = param["name"]
            query = COMMON.get(name, {f"{name}:missing": "false"})
            answer = seeded.http.get(f"/fhir/{rtype}", params=query)
            assert answer.status_code == 200, (rtype, param["name"], answer.text)
            checked(answer.json())
        for include in resource.get("searchInclude", []):
            answer = seeded.http.get(f"/fhir/{rtype}", params={"_include": include})
            assert answer.status_code == 200, (rtype, include, answer.text)


def test_r4_rest_details(seeded: Seeded) -> None:
    ecg = seeded.http.get(f"/fhir/Observation/{seeded.ecg['p1']}").json()
    assert ecg["code"]["coding"][0]["system"] == MDC
    assert {c["code"]["coding"][0]["system"] for c in ecg["component"]} >= {MDC}

    answer = seeded.http.get("/fhir/metadata")
    assert answer.status_code == 200, answer.text
    capability = answer.json()
    subscription = next(r for r in capability["rest"][0]["resource"] if r["type"] == "Subscription")
    topic = next(e["valueCanonical"] for e in subscription["extension"])
    body = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "conformance",
        "criteria": topic,
        "channel": {"type": "websocket", "payload": "application/fhir+json"},
    }
    created = seeded.http.post("/fhir/Subscription", json=body)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.headers["Location"].endswith(f"/fhir/Subscription/{sid}/_history/1")
    wait_for(seeded.http, f"/fhir/Subscription/{sid}")
    version = seeded.http.get(created.headers["Location"])
    assert version.status_code == 200 and version.json()["meta"]["versionId"] == "1"
    valid(version.json())
    assert seeded.http.delete(f"/fhir/Subscription/{sid}").status_code == 204
    deadline = time.monotonic() + 30
    while (gone := seeded.http.get(f"/fhir/Subscription/{sid}")).status_code != 410:
        assert gone.status_code == 200 and time.monotonic() < deadline, gone.text
        time.sleep(0.1)
    assert gone.json()["resourceType"] == "OperationOutcome"

    async_ = {"Prefer": "respond-async"}
    unknown_group = seeded.http.get(
        f"/fhir/Group/no-such-{uuid.uuid4().hex[:6]}/$export", headers=async_
    )
    assert unknown_group.status_code == 404, unknown_group.text
    assert seeded.http.get(f"/fhir/_export/{'0' * 32}").status_code == 404

    patient = seeded.http.get(f"/fhir/Patient/{seeded.patient['p1']}").json()
    ok = seeded.http.post("/fhir/Patient/$validate", json=patient)
    assert ok.status_code == 200 and ok.json()["issue"][0]["severity"] == "information"
    broken = seeded.http.post(
        "/fhir/Patient/$validate", json={**patient, "birthDate": "31/12/1949"}
    )
    issues = broken.json()["issue"]
    assert broken.status_code == 200 and issues[0]["severity"] == "error"
    assert any("birthDate" in e for i in issues for e in i.get("expression", []))
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": patient}],
    }
    assert (
        seeded.http.post("/fhir/Patient/$validate", json=wrapped).json()["issue"][0]["severity"]
        == "information"
    )
    assert seeded.http.post("/fhir/Observation/$validate", json=patient).status_code == 400
