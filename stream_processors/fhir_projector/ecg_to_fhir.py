"""EcgSubmitted -> FHIR R4 Observation (12-lead waveform) and Patient demographics.

Pure functions of the event: no I/O, no clock. The Observation follows the FHIR ECG example:
code MDC_ECG_ELEC_POTL, one component per lead (MDC lead code, SampledData in the sender's
unit), plus the device's measurements as LOINC-coded components.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from stream_processors.fhir_projector.codes import (
    DEVICE_ID,
    ECG_CODE,
    ECG_ID,
    ECG_LEADS,
    ECG_MEASUREMENTS,
    LOINC,
    MDC,
    OBSERVATION_CATEGORY,
    SITE_ID,
    UCUM,
)
from stream_processors.ids import ecg_observation_id, patient_id

Json = dict[str, Any]


def instant(t: dt.datetime) -> str:
    """FHIR instant in UTC with microseconds: fixed width, so it sorts as text."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _coding(system: str, code: str, display: str | None = None) -> Json:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _decimal(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def lead_component(lead: Json, rate_hz: float, units: str) -> Json:
    code, display = ECG_LEADS[lead["lead"]]
    return {
        "code": {"coding": [_coding(MDC, code, display)]},
        "valueSampledData": {
            "origin": {"value": 0, "unit": units, "system": UCUM, "code": units},
            "period": _decimal(round(1000.0 / rate_hz, 6)),
            "factor": 1,
            "dimensions": 1,
            "data": " ".join(map(str, lead["samples"])),
        },
    }


def measurement_components(measurements: Json | None) -> list[Json]:
    out = []
    for field, (code, display, unit) in ECG_MEASUREMENTS.items():
        value = (measurements or {}).get(field)
        if value is not None:
            out.append(
                {
                    "code": {"coding": [_coding(LOINC, code, display)]},
                    "valueQuantity": {
                        "value": _decimal(value),
                        "unit": unit,
                        "system": UCUM,
                        "code": unit,
                    },
                }
            )
    return out


def ecg_observation(event: Json) -> Json:
    """The FHIR Observation of one submitted ECG (without meta)."""
    wave = event["waveform"]
    site, device = event["site"], event["device"]
    obs: Json = {
        "resourceType": "Observation",
        "id": ecg_observation_id(event["ecg_id"]),
        "identifier": [{"system": ECG_ID, "value": event["ecg_id"]}],
        "status": "final",
        "category": [{"coding": [_coding(OBSERVATION_CATEGORY, "procedure", "Procedure")]}],
        "code": {"coding": [_coding(MDC, *ECG_CODE)], "text": "12-lead ECG"},
        "subject": {"reference": f"Patient/{patient_id(event['patient']['identifiers'])}"},
        "effectiveDateTime": instant(event["acquired_at"]),
        "issued": instant(event["meta"]["recorded_at"]),
        "performer": [
            {
                "identifier": {"system": SITE_ID, "value": site["id"]},
                **({"display": site["name"]} if site.get("name") else {}),
            }
        ],
        "device": {
            "identifier": {"system": DEVICE_ID, "value": device["id"]},
            **_device_display(device),
        },
        "component": [
            lead_component(lead, wave["sampling_rate_hz"], wave["units"]) for lead in wave["leads"]
        ]
        + measurement_components(event.get("measurements")),
    }
    statements = (event.get("measurements") or {}).get("statements") or []
    notes = (
        [f"Clinical question: {event['clinical_question']}"]
        if event.get("clinical_question")
        else []
    )
    notes += [f"Device statement: {s}" for s in statements]
    if notes:
        obs["note"] = [{"text": n} for n in notes]
    return obs


def _device_display(device: Json) -> Json:
    label = " ".join(p for p in (device.get("manufacturer"), device.get("model")) if p)
    return {"display": label} if label else {}
