"""A scripted ambulance STEMI call, as a crew's tablet would send it: the demo, the tests and
the benchmarks drive the tablet API with it.

Timeline (minutes after the call): call 0, dispatched 1, en route 2, on scene 9, at patient
10, patient recorded 11, vitals 12, ECG 13 (inferior ST elevation), aspirin 14, pre-alert
STEMI 15 (ETA 35), IV access 16, left scene 18, vitals 25, handover submitted 30, at
destination 35. The hospital accepts the handover (transfer of care) on its board.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from avro_schemas import events
from kernel.codes import RESIDENT_ID
from kernel.jsontypes import Json
from services.ingest import resident_id as resident_ids
from services.simulate.ecg_synth import INFERIOR, synth_ecg

SNOMED = "http://snomed.info/sct"
CHINA = dt.timezone(dt.timedelta(hours=8))
DESTINATION = "county-hospital"


def _at(t0: dt.datetime, minutes: float) -> str:
    return (t0 + dt.timedelta(minutes=minutes)).isoformat()


def valid_resident_id(first17: str = "61010219670415003") -> str:
    return first17 + resident_ids.check_char(first17)


def stemi_incident(
    incident_id: str,
    t0: dt.datetime = dt.datetime(2026, 11, 23, 9, 40, tzinfo=CHINA),
    resident_id: str | None = None,
    unit_id: str = "amb-07",
    station_id: str = "station-chengguan",
    destination_id: str = DESTINATION,
    seed: int = 3,
) -> list[Json]:
    """The tablet events of one STEMI incident, in the crew's order. With `resident_id`
    the patient is identified; without, unidentified (temporary id, estimated age)."""

    def ev(event_type: str, minutes: float, **fields: Any) -> Json:
        n = len(built)
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"goldenhour/{incident_id}/{n}"))
        return {
            "type": events.short(event_type),
            "event_id": event_id,
            "occurred_at": _at(t0, minutes),
            **fields,
        }

    def status(minutes: float, name: str) -> Json:
        return ev(events.UNIT_STATUS_CHANGED, minutes, unit_id=unit_id, status=name)

    def vitals(minutes: float, hr: int, sbp: int, dbp: int, spo2: int, pain: int) -> Json:
        return ev(
            events.VITALS_RECORDED,
            minutes,
            vitals=[
                {"code": "8867-4", "value": hr, "unit": "/min"},
                {"code": "8480-6", "value": sbp, "unit": "mm[Hg]"},
                {"code": "8462-4", "value": dbp, "unit": "mm[Hg]"},
                {"code": "9279-1", "value": 22, "unit": "/min"},
                {"code": "59408-5", "value": spo2, "unit": "%"},
                {"code": "9269-2", "value": 15, "unit": "{score}"},
                {"code": "72514-3", "value": pain, "unit": "{score}"},
            ],
        )

    if resident_id:
        patient: Json = {
            "identifiers": [{"system": RESIDENT_ID, "value": resident_id}],
            "family": "王",
            "given": "建国",
            "gender": "male",
            "birth_date": f"{resident_id[6:10]}-{resident_id[10:12]}-{resident_id[12:14]}",
        }
    else:
        patient = {
            "temporary_id": f"EMS-{incident_id}",
            "gender": "male",
            "estimated_age_years": 58,
        }

    built: list[Json] = []
    script: list[Callable[[], Json]] = [
        lambda: ev(
            events.INCIDENT_OPENED,
            0,
            dispatch_reason="Chest pain for 40 minutes, sweating",
            priority="1",
            station_id=station_id,
            unit_id=unit_id,
            scene={"latitude": 34.2655, "longitude": 108.9542, "address": "12 Xinhua Rd"},
        ),
        lambda: status(1, "DISPATCHED"),
        lambda: status(2, "EN_ROUTE"),
        lambda: status(9, "ON_SCENE"),
        lambda: status(10, "AT_PATIENT"),
        lambda: ev(events.PATIENT_RECORDED, 11, **patient),
        lambda: vitals(12, 108, 96, 60, 93, 8),
        lambda: ev(
            events.ECG_ACQUIRED,
            13,
            ecg_id=f"{incident_id}-ecg-1",
            device={"id": "lifepak-15-0042", "manufacturer": "Stryker", "model": "LIFEPAK 15"},
            sampling_rate_hz=500,
            leads=synth_ecg(heart_rate_bpm=104, st_elevation_uv=250, st_leads=INFERIOR, seed=seed),
        ),
        lambda: ev(
            events.MEDICATION_GIVEN,
            14,
            medication={"system": SNOMED, "code": "387458008", "display": "Aspirin"},
            dose={"value": 300, "unit": "mg"},
            route={"system": SNOMED, "code": "26643006", "display": "Oral route"},
        ),
        lambda: ev(
            events.PRE_ALERT_RAISED,
            15,
            kind="STEMI",
            destination_id=destination_id,
            eta=_at(t0, 35),
            note="Inferior STEMI on 12-lead; activate cath lab",
        ),
        lambda: ev(
            events.INTERVENTION_PERFORMED,
            16,
            code={
                "system": SNOMED,
                "code": "392230005",
                "display": "Insertion of peripheral IV catheter",
            },
            note="18G left antecubital",
        ),
        lambda: status(18, "LEFT_SCENE"),
        lambda: vitals(25, 98, 104, 66, 96, 5),
        lambda: ev(
            events.HANDOVER_SUBMITTED,
            30,
            destination_id=destination_id,
            atmist={
                "age": "58 y male",
                "time": f"Onset ~{_at(t0, -40)}; call {_at(t0, 0)}",
                "mechanism": "Non-traumatic chest pain at rest",
                "injuries": "Inferior STEMI (II, III, aVF ST elevation)",
                "signs": "HR 108 -> 98, BP 96/60 -> 104/66, SpO2 93 -> 96 %, GCS 15",
                "treatment": "Aspirin 300 mg PO, IV access 18G",
            },
            narrative="Crushing central chest pain radiating to the left arm, diaphoretic.",
        ),
        lambda: status(35, "AT_DESTINATION"),
    ]
    for step in script:
        built.append(step())
    return built
