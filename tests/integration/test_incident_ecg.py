"""An ambulance 12-lead (EcgAcquired on ems.incident) enters the same read queue as clinic
ECGs, with the incident's patient and pre-alert, on each backend pair.

The tablet API is not built yet, so the incident's events are appended to the log directly:
the log is the interface every producer writes through."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import httpx
from fhir.resources.R4B.observation import Observation

from avro_schemas.catalogue import INCIDENT
from eventlog.base import NewRecord
from kernel.codes import EMS_TEMPORARY_ID, STANDARD_LEAD_ORDER
from kernel.ids import ecg_observation_id
from services.server import Server
from services.simulate.ecg_synth import synth_ecg
from tests.ecg_payloads import ecg_payload
from tests.incident_script import tablet_meta
from tests.integration.test_ecg_slice import wait_for

T0 = dt.datetime(2026, 11, 23, 9, 40, tzinfo=dt.UTC)


def append(server: Server, incident: str, name: str, minutes: float, **fields: Any) -> None:
    at = T0 + dt.timedelta(minutes=minutes)
    event = {"meta": tablet_meta(str(uuid.uuid4()), at), "incident_id": incident, **fields}
    value = server.system.codec.encode(f"goldenhour.ems.{name}", event)
    server.system.log.append(INCIDENT, [NewRecord(incident, value, event["meta"]["event_id"])])


def incident_opened(server: Server, incident: str, reason: str, unit_id: str) -> None:
    """The call (priority 1, from station-2, no scene position) and the unit sent."""
    append(
        server,
        incident,
        "IncidentOpened",
        0,
        dispatch_reason=reason,
        priority="1",
        station_id="station-2",
        unit_id=unit_id,
        scene=None,
    )


def patient_recorded(server: Server, incident: str, minutes: float, age: int) -> None:
    """An unidentified man of about `age`, under the temporary id `TMP-<incident>`."""
    patient = {"identifiers": [], "gender": "male", "estimated_age_years": age}
    append(
        server,
        incident,
        "PatientRecorded",
        minutes,
        patient=patient,
        temporary_id=f"TMP-{incident}",
    )


def stemi_pre_alert(server: Server, incident: str, destination: str, **note: str) -> None:
    """A STEMI pre-alert at minute 12 with an ETA of minute 35 (and any `note`)."""
    eta = T0 + dt.timedelta(minutes=35)
    append(
        server,
        incident,
        "PreAlertRaised",
        12,
        kind="STEMI",
        destination_id=destination,
        eta=eta,
        **note,
    )


def ecg_acquired(server: Server, incident: str, ecg_id: str, minutes: float, st_uv: float) -> None:
    leads = synth_ecg(heart_rate_bpm=96, st_elevation_uv=st_uv, seed=3)
    append(
        server,
        incident,
        "EcgAcquired",
        minutes,
        ecg_id=ecg_id,
        device={"id": "lifepak-15-0042", "manufacturer": "Stryker", "model": "LIFEPAK 15"},
        acquired_at=T0 + dt.timedelta(minutes=minutes),
        waveform={
            "sampling_rate_hz": 500.0,
            "units": "uV",
            "leads": [{"lead": n, "samples": leads[n]} for n in STANDARD_LEAD_ORDER],
        },
        measurements=None,
    )


def queue_item(client: httpx.Client, ecg_id: str) -> dict[str, Any]:
    for _ in range(300):
        for item in client.get("/reading/queue").json():
            if item["ecg_id"] == ecg_id and item["measurements"]:
                return item  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"{ecg_id} never reached the read queue")


def test_ambulance_stemi_ecg_goes_to_the_top_of_the_read_queue(server: Server) -> None:
    incident = f"INC-{uuid.uuid4().hex[:6]}"
    ecg_id = f"amb-{uuid.uuid4().hex[:6]}"
    incident_opened(server, incident, "chest pain", "A12")
    patient_recorded(server, incident, 9, age=60)
    stemi_pre_alert(server, incident, "county-hospital")
    ecg_acquired(server, incident, ecg_id, 11, st_uv=250)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        client.post("/ingest/ecg", json=ecg_payload(urgency="urgent"))
        item = queue_item(client, ecg_id)
        assert item["triage_class"] == "critical"
        assert any("pre-alert STEMI" in r for r in item["reasons"])
        assert item["site_name"] == "120 unit A12"
        assert client.get("/reading/queue").json()[0]["ecg_id"] == ecg_id
        obs = Observation.model_validate(
            wait_for(client, f"/fhir/Observation/{ecg_observation_id(ecg_id)}").json()
        )
        patient = wait_for(client, f"/fhir/{obs.subject.reference}").json()
    assert patient["identifier"] == [{"system": EMS_TEMPORARY_ID, "value": f"TMP-{incident}"}]
    assert patient["gender"] == "male"


def test_ecg_before_any_patient_is_filed_under_the_incident(server: Server) -> None:
    incident = f"INC-{uuid.uuid4().hex[:6]}"
    ecg_id = f"amb-{uuid.uuid4().hex[:6]}"
    incident_opened(server, incident, "collapse", "A07")
    ecg_acquired(server, incident, ecg_id, 4, st_uv=0)
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        item = queue_item(client, ecg_id)
        assert item["triage_class"] == "urgent"  # an ambulance ECG is never routine
        obs = wait_for(client, f"/fhir/Observation/{ecg_observation_id(ecg_id)}").json()
        patient = wait_for(client, f"/fhir/{obs['subject']['reference']}").json()
    assert patient["identifier"] == [{"system": EMS_TEMPORARY_ID, "value": incident}]
