"""EcgSubmitted -> FHIR R4 Observation (12-lead waveform) and Patient demographics.

Pure functions of the event: no I/O, no clock. The Observation follows the FHIR ECG example:
code MDC_ECG_ELEC_POTL, one component per lead (MDC lead code, SampledData in the sender's
unit), plus the device's measurements as LOINC-coded components. A report-only result (no
waveform sent) has no lead components and says so in a note; the device's own report (a
PDF) becomes a DocumentReference related to the Observation.
"""

from __future__ import annotations

import base64
from functools import cache
from operator import itemgetter

import numpy as np

from avro_schemas.lead_samples import Samples, fits_int16, lead_samples
from kernel.codes import (
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
from kernel.ids import ecg_observation_id, patient_id, resource_id
from kernel.jsontypes import Json
from kernel.time import instant


def _coding(system: str, code: str, display: str | None = None) -> Json:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _decimal(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


# A lead the gateway computed from I and II (an 8-lead cart), not one the device recorded.
DERIVED_LEAD_EXTENSION = "https://goldenhour.health/fhir/StructureDefinition/ecg-derived-lead"
DERIVATIONS = {
    "III": "III = II - I (Einthoven)",
    "aVR": "aVR = -(I + II) / 2 (Goldberger)",
    "aVL": "aVL = I - II / 2 (Goldberger)",
    "aVF": "aVF = II - I / 2 (Goldberger)",
}


def sampled_data_text(samples: Samples) -> str:
    """SampledData `data`: the samples as decimal integers separated by single spaces, the
    same text for the same samples whichever branch the event used (views rebuild
    identically). Int16 samples are looked up in a table of their 65,536 texts (a third of
    the time of `str` on each); anything wider keeps `str`."""
    if not fits_int16(samples):
        return " ".join(map(str, samples.tolist()))
    indexes = (samples.astype(np.int32) + 32768).tolist()
    if len(indexes) < 2:  # itemgetter of one index gives the text, not a 1-tuple
        return " ".join(_int16_texts()[i] for i in indexes)
    texts: tuple[str, ...] = itemgetter(*indexes)(_int16_texts())
    return " ".join(texts)


@cache
def _int16_texts() -> list[str]:
    """str(n) for n in -32768..32767, at index n + 32768 (~4 MB, built on first use)."""
    return [str(n) for n in range(-32768, 32768)]


def lead_component(lead: Json, rate_hz: float, units: str, derived: bool = False) -> Json:
    code, display = ECG_LEADS[lead["lead"]]
    extension = (
        [{"url": DERIVED_LEAD_EXTENSION, "valueString": f"derived: {DERIVATIONS[lead['lead']]}"}]
        if derived
        else []
    )
    return {
        **({"extension": extension} if extension else {}),
        "code": {"coding": [_coding(MDC, code, display)]},
        "valueSampledData": {
            "origin": {"value": 0, "unit": units, "system": UCUM, "code": units},
            "period": _decimal(round(1000.0 / rate_hz, 6)),
            "factor": 1,
            "dimensions": 1,
            "data": sampled_data_text(lead_samples(lead)),
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
    derived = set(event.get("derived_leads") or [])
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
            lead_component(lead, wave["sampling_rate_hz"], wave["units"], lead["lead"] in derived)
            for lead in wave["leads"]
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
    if not wave["leads"]:
        obs["code"]["text"] = "12-lead ECG report (no waveform)"
        notes.append(NO_WAVEFORM)
    if derived:
        notes.append(
            f"Leads {', '.join(sorted(derived, key=list(DERIVATIONS).index))} were derived "
            "from leads I and II (Einthoven, Goldberger), not recorded: the device sent "
            "8 independent leads"
        )
    if notes:
        obs["note"] = [{"text": n} for n in notes]
    return obs


NO_WAVEFORM = (
    "No waveform was sent: the device sent its own measurements and report only"
    " (the report is a DocumentReference related to this ECG)"
)
LOINC_EKG_STUDY = ("11524-6", "EKG study")


def ecg_document_id(ecg_id: str) -> str:
    """Id of the DocumentReference holding an ECG's device report."""
    return resource_id("DocumentReference", ecg_id)


def ecg_document(event: Json) -> Json | None:
    """The FHIR DocumentReference of the device's report (its PDF), or None."""
    doc = event.get("document")
    if not doc:
        return None
    obs_id = ecg_observation_id(event["ecg_id"])
    attachment: Json = {
        "contentType": doc["content_type"],
        "data": base64.b64encode(doc["data"]).decode("ascii"),
        **({"title": doc["title"]} if doc.get("title") else {}),
    }
    return {
        "resourceType": "DocumentReference",
        "id": ecg_document_id(event["ecg_id"]),
        "identifier": [{"system": ECG_ID, "value": event["ecg_id"]}],
        "status": "current",
        "type": {"coding": [_coding(LOINC, *LOINC_EKG_STUDY)], "text": "ECG report"},
        "subject": {"reference": f"Patient/{patient_id(event['patient']['identifiers'])}"},
        "date": instant(event["meta"]["recorded_at"]),
        "description": "The ECG device's own report"
        + ("" if event["waveform"]["leads"] else "; no waveform was sent"),
        "content": [{"attachment": attachment}],
        "context": {"related": [{"reference": f"Observation/{obs_id}"}]},
    }


def _device_display(device: Json) -> Json:
    label = " ".join(p for p in (device.get("manufacturer"), device.get("model")) if p)
    return {"display": label} if label else {}
