"""HL7 v2 ADT over a real MLLP socket, on each backend pair: A01/A08/A03 -> ACK -> events
in `hospital.adt` -> Patient (MRN) and hospital Encounter over FHIR HTTP; duplicates and
errors; A40 merges an unidentified ambulance patient into the hospital's, and `$unmerge`
restores both Patients."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from avro_schemas.catalogue import ADT, IDENTITY
from avro_schemas.events import PATIENT_LINKED as LINKED
from kernel.ids import patient_id
from kernel.jsontypes import Json
from services.hl7_gateway.listener import MllpListener
from services.server import Server
from services.simulate.stemi_incident import stemi_incident
from stream_processors.fhir_projector.hospital_to_fhir import hospital_encounter_id
from stream_processors.fhir_projector.incident.encounter import encounter_id
from tests.adt_messages import HOSPITAL, adt, valid_resident_id
from tests.integration.test_mllp_intake import exchange, msa

ATTEMPTS = 200  # x 0.1 s
MRN_SYSTEM = f"urn:goldenhour:mrn:{HOSPITAL}"
EMS = "https://goldenhour.health/sid/ems-temporary-id"


@pytest.fixture
def mllp(server: Server) -> Iterator[MllpListener]:
    assert server.mllp is not None
    yield server.mllp


def log_size(server: Server, topic: str) -> int:
    return sum(server.system.log.end_offsets(topic).values())


def eventually(server: Server, path: str, ok: Callable[[Json], bool] = lambda _: True) -> Json:
    resp = None
    for _ in range(ATTEMPTS):
        resp = httpx.get(f"{server.base_url}{path}", timeout=10)
        if resp.status_code == 200 and ok(body := resp.json()):
            return body  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(
        f"{path}: never held (last {resp and resp.status_code} {resp and resp.text[:300]})"
    )


def hospital_patient_id(mrn: str = "H-778", resident: str | None = None) -> str:
    ids = [{"system": MRN_SYSTEM, "value": mrn}]
    return patient_id(
        ids
        + (
            [{"system": "https://goldenhour.health/sid/cn-resident-id", "value": resident}]
            if resident
            else []
        )
    )


def record_ambulance_patient(server: Server, incident: str) -> str:
    """An unidentified STEMI patient recorded by a crew through the tablet API; its id."""
    script = stemi_incident(incident)
    resp = httpx.post(
        f"{server.base_url}/ingest/incidents/{incident}/events",
        json={"expected_version": 0, "device_id": "tab-7", "events": script},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    rid = patient_id([{"system": EMS, "value": f"EMS-{incident}"}])
    eventually(server, f"/fhir/Encounter/{encounter_id(incident)}", lambda e: "subject" in e)
    eventually(server, f"/fhir/Patient/{rid}")
    # The whole script folded, not only its first events: the hospital may see the incident
    # once its pre-alert is (the grant), and its Patient comes by the patient projector.
    for _ in range(ATTEMPTS):
        if server.system.lag() == 0:
            break
        time.sleep(0.1)
    assert server.system.lag() == 0, "the processors did not fold the incident"
    return rid


def without_meta(body: Json) -> Json:
    return {k: v for k, v in body.items() if k != "meta"}


def test_a01_is_aa_after_the_log_has_it_and_becomes_patient_and_encounter(
    server: Server, mllp: MllpListener
) -> None:
    before = log_size(server, ADT)
    ack = exchange(mllp, adt("A01", control_id="adt-0001"))
    assert msa(ack) == ("AA", "adt-0001")
    assert ack[0][8] == "ACK^A01^ACK"
    assert log_size(server, ADT) == before + 1  # in the log when AA was sent
    rid = hospital_patient_id()
    found = eventually(
        server, f"/fhir/Patient?identifier={MRN_SYSTEM}|H-778", lambda b: b["total"] == 1
    )
    assert found["entry"][0]["resource"]["id"] == rid
    enc = eventually(server, f"/fhir/Encounter/{hospital_encounter_id(HOSPITAL, 'V-2026-001')}")
    assert enc["status"] == "in-progress" and enc["class"]["code"] == "EMER"
    assert enc["subject"] == {"reference": f"Patient/{rid}"}
    assert enc["serviceProvider"]["identifier"]["value"] == HOSPITAL


def test_a08_updates_and_a03_finishes_the_encounter(server: Server, mllp: MllpListener) -> None:
    assert msa(exchange(mllp, adt("A01")))[0] == "AA"
    enc_path = f"/fhir/Encounter/{hospital_encounter_id(HOSPITAL, 'V-2026-001')}"
    eventually(server, enc_path)
    update = adt("A08", location="CCU^12^2^" + HOSPITAL, patient_class="I").replace(
        "王^建国", "王^建民"
    )
    assert msa(exchange(mllp, update))[0] == "AA"
    patient = eventually(
        server,
        f"/fhir/Patient/{hospital_patient_id()}",
        lambda p: p["name"][0]["given"] == ["建民"],
    )
    assert patient["meta"]["versionId"] == "2"
    enc = eventually(server, enc_path, lambda e: e["class"]["code"] == "IMP")
    assert enc["location"][0]["location"]["display"].startswith("CCU, room 12")
    discharge = adt("A03", discharged="20261128093000+0800", patient_class="I")
    assert msa(exchange(mllp, discharge))[0] == "AA"
    enc = eventually(server, enc_path, lambda e: e["status"] == "finished")
    assert enc["period"]["end"] == "2026-11-28T01:30:00.000000Z"


def test_duplicate_control_id_is_aa_with_one_event(server: Server, mllp: MllpListener) -> None:
    message = adt("A01", control_id="adt-dup-1")
    assert msa(exchange(mllp, message)) == ("AA", "adt-dup-1")
    size = log_size(server, ADT)
    again = exchange(mllp, message)
    assert msa(again) == ("AA", "adt-dup-1")
    assert "duplicate" in again[1][3]
    assert log_size(server, ADT) == size
    reused = exchange(mllp, adt("A01", mrn="H-999", control_id="adt-dup-1"))
    assert msa(reused)[0] == "AE" and reused[2][2] == "MSH^1^10"
    assert log_size(server, ADT) == size


def test_bad_resident_id_is_ae_naming_pid_3_and_nothing_is_appended(
    server: Server, mllp: MllpListener
) -> None:
    good = valid_resident_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    size = log_size(server, ADT)
    ack = exchange(mllp, adt("A01", resident=bad, control_id="adt-bad-1"))
    assert msa(ack) == ("AE", "adt-bad-1")
    assert ack[2][2] == "PID^1^3^2^1"
    assert ack[2][3] == "102^Data type error^HL70357"
    assert "check digit" in ack[2][8]
    assert log_size(server, ADT) == size


def test_unknown_incident_reference_is_ae_204_at_pv1_50(server: Server, mllp: MllpListener) -> None:
    size = log_size(server, ADT)
    ack = exchange(mllp, adt("A01", incident="inc-nobody-knows"))
    assert msa(ack)[0] == "AE"
    assert ack[2][2] == "PV1^1^50" and ack[2][3].startswith("204^")
    assert log_size(server, ADT) == size


def test_a01_naming_the_incident_links_the_ambulance_patient(
    server: Server, mllp: MllpListener
) -> None:
    source = record_ambulance_patient(server, "inc-adt-link")
    links = log_size(server, IDENTITY)
    assert msa(exchange(mllp, adt("A01", mrn="H-501", incident="inc-adt-link")))[0] == "AA"
    assert log_size(server, IDENTITY) == links + 1
    target = hospital_patient_id("H-501")
    linked = eventually(server, f"/fhir/Patient/{source}", lambda p: "link" in p)
    assert linked["link"] == [{"other": {"reference": f"Patient/{target}"}, "type": "replaced-by"}]
    assert linked["active"] is False


def test_a40_merges_the_ambulance_patient_and_unmerge_restores(
    server: Server, mllp: MllpListener
) -> None:
    source = record_ambulance_patient(server, "inc-a40")
    assert msa(exchange(mllp, adt("A01", mrn="H-640")))[0] == "AA"
    target = hospital_patient_id("H-640")
    deadline = time.monotonic() + 30  # every event folded: "before" is the settled state
    while server.system.lag() > 0:
        assert time.monotonic() < deadline, "processors did not catch up"
        time.sleep(0.05)
    before = {
        rid: without_meta(eventually(server, f"/fhir/Patient/{rid}")) for rid in (source, target)
    }

    ack = exchange(mllp, adt("A40", mrn="H-640", prior="EMS-inc-a40^^^EMS", control_id="a40-1"))
    assert msa(ack) == ("AA", "a40-1")
    record = (
        server.system.log.read(IDENTITY, 0, 0, 500)
        + server.system.log.read(IDENTITY, 1, 0, 500)
        + server.system.log.read(IDENTITY, 2, 0, 500)
    )
    events = [server.system.codec.decode(r.value) for r in record]
    assert [
        (n, e["source_patient_id"], e["target_patient_id"], e["reason"]) for n, e in events
    ] == [(LINKED, source, target, "adt-a40")]
    merged = eventually(server, f"/fhir/Patient/{source}", lambda p: "link" in p)
    assert merged["active"] is False
    assert merged["link"] == [{"other": {"reference": f"Patient/{target}"}, "type": "replaced-by"}]
    survivor = eventually(server, f"/fhir/Patient/{target}", lambda p: "link" in p)
    assert survivor["link"] == [{"other": {"reference": f"Patient/{source}"}, "type": "replaces"}]

    # $everything on the hospital patient reaches the ambulance's Encounter and Observations.
    everything = eventually(
        server,
        f"/fhir/Patient/{target}/$everything?_count=500",
        lambda b: any(e["resource"]["resourceType"] == "Provenance" for e in b["entry"]),
    )
    ids = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in everything["entry"]}
    assert ("Encounter", encounter_id("inc-a40")) in ids
    assert ("Patient", source) in ids and everything["entry"][0]["resource"]["id"] == target
    observations = [
        e["resource"] for e in everything["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert any(o["subject"]["reference"] == f"Patient/{source}" for o in observations)
    from_source = eventually(server, f"/fhir/Patient/{source}/$everything?_type=Encounter")
    assert {e["resource"]["id"] for e in from_source["entry"]} >= {
        encounter_id("inc-a40"),
        hospital_encounter_id(HOSPITAL, "V-2026-001"),
    }

    # A resend of the A40 changes nothing.
    size = log_size(server, IDENTITY)
    assert (
        msa(exchange(mllp, adt("A40", mrn="H-640", prior="EMS-inc-a40^^^EMS", control_id="a40-1")))[
            0
        ]
        == "AA"
    )
    assert log_size(server, IDENTITY) == size

    undo = httpx.post(
        f"{server.base_url}/fhir/Patient/$unmerge",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "source-patient", "valueReference": {"reference": f"Patient/{source}"}},
                {"name": "target-patient", "valueReference": {"reference": f"Patient/{target}"}},
                {"name": "performer", "valueString": "dr-zhao"},
            ],
        },
        timeout=30,
    )
    assert undo.status_code == 200, undo.text
    for rid in (source, target):
        after = eventually(server, f"/fhir/Patient/{rid}", lambda p: "link" not in p)
        assert without_meta(after) == before[rid], json.dumps(after)
    gone = eventually(
        server,
        f"/fhir/Patient/{target}/$everything?_type=Encounter",
        lambda b: len(b["entry"]) == 1,
    )
    assert gone["entry"][0]["resource"]["id"] == hospital_encounter_id(HOSPITAL, "V-2026-001")
