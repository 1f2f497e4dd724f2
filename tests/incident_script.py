"""A scripted STEMI ambulance incident, as the tablet and the hospital would log it.

`stemi_incident(incident_id, t0, resident_id)` returns `(event name, event)` pairs in log
order, ready for `codec.encode` and the folds: a chest-pain call, the unit's timeline, an
unidentified patient (then, with `resident_id`, the identified one), two vital sign sets,
an IV line, aspirin, a 12-lead ECG with inferior ST elevation, a STEMI pre-alert with ETA,
the ATMIST handover and the hospital's acceptance (transfer of care at t0 + 40 min).
Event ids derive from the incident id, so the same arguments give the same events.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from kernel.codes import RESIDENT_ID, STANDARD_LEAD_ORDER
from services.simulate.ecg_synth import synth_ecg

Event = tuple[str, dict[str, Any]]
EMS = "goldenhour.ems."
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NAMESPACE = uuid.UUID("3f5e9a52-6a0b-4f0e-9c1c-2b7d1e0f4a10")

HOSPITAL = "county-hospital"
UNIT, STATION = "A12", "station-2"
ACCEPTED_BY = "dr-li"
TRANSFER_OF_CARE_MIN = 40  # HandoverAccepted, minutes after t0
ETA_MIN = 38
ECG_MIN = 16

# (LOINC, value, UCUM unit) of the two sets, as the monitor reports them.
VITALS_1 = [
    ("8867-4", 112, "/min"),
    ("8480-6", 158, "mm[Hg]"),
    ("8462-4", 96, "mm[Hg]"),
    ("9279-1", 22, "/min"),
    ("59408-5", 94, "%"),
    ("8310-5", 36.8, "Cel"),
    ("9269-2", 15, "{score}"),
    ("15074-8", 7.2, "mmol/L"),
    ("19889-5", 34, "mm[Hg]"),
    ("72514-3", 8, "{score}"),
]
VITALS_2 = [
    ("8867-4", 104, "/min"),
    ("8480-6", 142, "mm[Hg]"),
    ("8462-4", 88, "mm[Hg]"),
    ("59408-5", 96, "%"),
    ("72514-3", 5, "{score}"),
]


def ecg_id(incident_id: str) -> str:
    return f"{incident_id}-ecg-1"


def temporary_id(incident_id: str) -> str:
    return f"TMP-{incident_id}"


def _vitals(rows: Sequence[tuple[str, float, str]]) -> dict[str, Any]:
    return {
        "vitals": [{"loinc": c, "quantity": {"value": float(v), "unit": u}} for c, v, u in rows]
    }


def _ecg(incident_id: str, t0: dt.datetime) -> dict[str, Any]:
    leads = synth_ecg(heart_rate_bpm=104, st_elevation_uv=250, seed=3)
    return {
        "ecg_id": ecg_id(incident_id),
        "device": {"id": "lifepak-15-0042", "manufacturer": "Stryker", "model": "LIFEPAK 15"},
        "acquired_at": t0 + dt.timedelta(minutes=ECG_MIN),
        "waveform": {
            "sampling_rate_hz": 500.0,
            "units": "uV",
            "leads": [{"lead": n, "samples": leads[n]} for n in STANDARD_LEAD_ORDER],
        },
        "measurements": None,
    }


def _identified(resident_id: str) -> dict[str, Any]:
    born = dt.date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))
    return {
        "identifiers": [{"system": RESIDENT_ID, "value": resident_id}],
        "family": "王",
        "given": "建国",
        "gender": "male",
        "birth_date": born,
        "estimated_age_years": None,
    }


def status(code: str) -> dict[str, Any]:
    return {"unit_id": UNIT, "status": code, "position": None}


def _steps(
    incident_id: str, t0: dt.datetime, resident_id: str | None
) -> list[tuple[float, str, dict[str, Any]]]:
    unidentified = {
        "patient": {"identifiers": [], "gender": "male", "estimated_age_years": 60},
        "temporary_id": temporary_id(incident_id),
    }
    steps: list[tuple[float, str, dict[str, Any]]] = [
        (
            0,
            "IncidentOpened",
            {
                "dispatch_reason": "Chest pain, 55-65 year old man, sweating",
                "priority": "1",
                "station_id": STATION,
                "unit_id": UNIT,
                "scene": {"latitude": 30.2741, "longitude": 120.1551, "address": "12 West Lake Rd"},
            },
        ),
        (0, "UnitStatusChanged", status("CALL_RECEIVED")),
        (1, "UnitStatusChanged", status("DISPATCHED")),
        (2, "UnitStatusChanged", status("EN_ROUTE")),
        (9, "UnitStatusChanged", status("ON_SCENE")),
        (10, "UnitStatusChanged", status("AT_PATIENT")),
        (11, "PatientRecorded", unidentified),
    ]
    if resident_id:
        identified = {
            "patient": _identified(resident_id),
            "temporary_id": temporary_id(incident_id),
        }
        steps.append((12, "PatientRecorded", identified))
    steps += [
        (13, "VitalsRecorded", _vitals(VITALS_1)),
        (
            14,
            "InterventionPerformed",
            {
                "code": {
                    "system": SNOMED,
                    "code": "392230005",
                    "display": "Intravenous cannulation",
                },
                "note": "18G left antecubital",
            },
        ),
        (
            15,
            "MedicationGiven",
            {
                "medication": {"system": RXNORM, "code": "1191", "display": "Aspirin"},
                "dose": {"value": 300.0, "unit": "mg"},
                "route": {"system": SNOMED, "code": "26643006", "display": "Oral route"},
            },
        ),
        (ECG_MIN, "EcgAcquired", _ecg(incident_id, t0)),
        (
            17,
            "PreAlertRaised",
            {
                "kind": "STEMI",
                "destination_id": HOSPITAL,
                "eta": t0 + dt.timedelta(minutes=ETA_MIN),
                "note": "Inferior STEMI, cath lab please",
            },
        ),
        (18, "UnitStatusChanged", status("LEFT_SCENE")),
        (25, "VitalsRecorded", _vitals(VITALS_2)),
        (
            26,
            "HandoverSubmitted",
            {
                "destination_id": HOSPITAL,
                "atmist": {
                    "age": "About 60, male",
                    "time": "Chest pain since 09:10",
                    "mechanism": "Medical: chest pain at rest",
                    "injuries": "Inferior STEMI on 12-lead",
                    "signs": "HR 104, BP 142/88, SpO2 96 %",
                    "treatment": "IV access, aspirin 300 mg",
                },
                "narrative": "Pain 8/10 easing to 5/10 after aspirin. No allergies known.",
            },
        ),
        (ETA_MIN, "UnitStatusChanged", status("AT_DESTINATION")),
        (
            TRANSFER_OF_CARE_MIN,
            "HandoverAccepted",
            {"accepted_by": ACCEPTED_BY, "hospital_id": HOSPITAL},
        ),
    ]
    return steps


def stemi_incident(incident_id: str, t0: dt.datetime, resident_id: str | None) -> list[Event]:
    """The incident's events in log order (names are full Avro record names)."""
    out = []
    for i, (minutes, name, fields) in enumerate(_steps(incident_id, t0, resident_id)):
        when = t0 + dt.timedelta(minutes=minutes)
        hospital = name == "HandoverAccepted"
        meta = {
            "event_id": str(uuid.uuid5(NAMESPACE, f"{incident_id}/{i}")),
            "occurred_at": when,
            "recorded_at": when + dt.timedelta(seconds=2),
            "source": {
                "channel": "http" if hospital else "tablet",
                "device_id": None if hospital else "tab-3",
                "user_id": ACCEPTED_BY if hospital else "crew-7",
                "site_id": HOSPITAL if hospital else STATION,
            },
        }
        out.append((EMS + name, {"meta": meta, "incident_id": incident_id, **fields}))
    return out


def tablet_meta(event_id: str, at: dt.datetime) -> dict[str, Any]:
    """The metadata of an event the crew's tablet logged at `at` (and recorded at once)."""
    source = {"channel": "tablet", "device_id": "tab-3", "user_id": "crew-7", "site_id": STATION}
    return {"event_id": event_id, "occurred_at": at, "recorded_at": at, "source": source}


def event(incident_id: str, name: str, at: dt.datetime, index: int, **fields: Any) -> Event:
    """One more event of the incident (e.g. after the script), its id derived from `index`."""
    meta = tablet_meta(str(uuid.uuid5(NAMESPACE, f"{incident_id}/extra/{index}")), at)
    return EMS + name, {"meta": meta, "incident_id": incident_id, **fields}
