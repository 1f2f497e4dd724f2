"""EcgMeasured -> FHIR R4 Observation: the automatic measurements of an ECG, as a
12-lead EKG panel (LOINC 34534-8) derived from the waveform Observation.

Intervals and rate carry their LOINC codes; ST deviation per lead has no LOINC code, so it is
a text-coded component with the lead's MDC code beside it. A waveform the algorithm could
not analyse still gets its Observation, with status `cancelled` and the reasons as notes.
"""

from __future__ import annotations

from kernel.codes import (
    ECG_LEADS,
    ECG_MEASUREMENTS,
    LOINC,
    MDC,
    OBSERVATION_CATEGORY,
    UCUM,
)
from kernel.ids import ecg_observation_id, resource_id
from kernel.jsontypes import Json
from kernel.time import instant

EKG_PANEL = {"system": LOINC, "code": "34534-8", "display": "12 lead EKG panel"}


def measurement_observation_id(ecg_id: str) -> str:
    return resource_id("Observation", "ecg-measurements", ecg_id)


def _quantity(value: float, unit: str) -> Json:
    rounded = round(value, 1)
    return {
        "value": int(rounded) if rounded.is_integer() else rounded,
        "unit": unit,
        "system": UCUM,
        "code": unit,
    }


def _interval_components(e: Json) -> list[Json]:
    out = []
    for field, (code, display, unit) in ECG_MEASUREMENTS.items():
        if e.get(field) is not None:
            out.append(
                {
                    "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                    "valueQuantity": _quantity(e[field], unit),
                }
            )
    return out


def _st_components(e: Json) -> list[Json]:
    """ST per lead at the J point (where the STEMI cut-points apply), then at J+60 ms."""
    out = []
    for field, where in (("st_deviation_uv", "the J point"), ("st_j60_uv", "J+60 ms")):
        for item in e.get(field) or []:
            code, display = ECG_LEADS[item["lead"]]
            out.append(
                {
                    "code": {
                        "coding": [{"system": MDC, "code": code, "display": display}],
                        "text": f"ST deviation at {where}, lead {item['lead']}",
                    },
                    "valueQuantity": _quantity(item["value"], "uV"),
                }
            )
    return out


def measurement_observation(e: Json) -> Json:
    obs: Json = {
        "resourceType": "Observation",
        "id": measurement_observation_id(e["ecg_id"]),
        "status": "final" if e["analysable"] else "cancelled",
        "category": [
            {
                "coding": [
                    {"system": OBSERVATION_CATEGORY, "code": "procedure", "display": "Procedure"}
                ]
            }
        ],
        "code": {"coding": [EKG_PANEL], "text": "Automatic ECG measurements"},
        "subject": {"reference": e["patient_ref"]},
        "issued": instant(e["meta"]["recorded_at"]),
        "effectiveDateTime": instant(e["meta"]["occurred_at"]),
        "method": {"text": e["algorithm"]},
        "derivedFrom": [{"reference": f"Observation/{ecg_observation_id(e['ecg_id'])}"}],
        # The class once, then each finding, whose text names the class it triggers itself.
        "note": [{"text": f"Triage class: {e['triage_class']}"}]
        + [{"text": r} for r in e.get("reasons", [])]
        + [{"text": f"Not measured: {p}"} for p in e.get("problems", [])],
    }
    components = _interval_components(e) + _st_components(e)
    if components:
        obs["component"] = components
    if not obs["note"]:
        del obs["note"]
    return obs
