"""The measuring processor: every submitted ECG -> `EcgMeasured` on diagnosis.reading.

It writes no view: it derives one event per ECG, with an event id and timestamps derived
from the source event (never the clock), so a replay or a rebuild appends nothing new and
the queue folds the same measurement at the same place in the ECG's stream.
"""

from __future__ import annotations

import datetime as dt
from importlib.metadata import version

from avro_schemas.catalogue import CLINIC_ECG, READING
from avro_schemas.events import ECG_MEASURED, ECG_SUBMITTED
from avro_schemas.lead_samples import lead_samples
from kernel.ids import patient_id
from kernel.jsontypes import Json
from stream_processors.adapter import Processor, State
from stream_processors.ecg_measurement.measure import Measurements, measure
from stream_processors.ecg_measurement.triage import triage
from stream_processors.runner import Emitted

ALGORITHM = f"goldenhour-measure/1 (scipy {version('scipy')})"


def _age_years(patient: Json, at: dt.datetime) -> float | None:
    born = patient.get("birth_date")
    if born is None:
        estimated = patient.get("estimated_age_years")
        return None if estimated is None else float(estimated)
    return float((at.date() - born).days / 365.25)


def measured_event(event: Json) -> Json:
    """The `EcgMeasured` record for one `EcgSubmitted`."""
    wave = event["waveform"]
    m = measure(
        {lead["lead"]: lead_samples(lead) for lead in wave["leads"]}, wave["sampling_rate_hz"]
    )
    patient = event["patient"]
    result = triage(
        m,
        event["urgency"],
        None,
        sex=patient.get("gender"),
        age_years=_age_years(patient, event["acquired_at"]),
    )
    return {
        "meta": {
            **event["meta"],
            "event_id": f"{event['meta']['event_id']}:measured",
            "source": {
                "channel": "system",
                "device_id": "ecg-measurer",
                "user_id": None,
                "site_id": None,
            },
        },
        "ecg_id": event["ecg_id"],
        "patient_ref": f"Patient/{patient_id(patient['identifiers'])}",
        **_fields(m),
        "triage_class": result.cls,
        "reasons": list(result.reasons),
        "algorithm": ALGORITHM,
    }


def _fields(m: Measurements) -> Json:
    return {
        "analysable": m.analysable,
        "problems": list(m.problems),
        "heart_rate_bpm": m.heart_rate_bpm,
        "rr_cv": m.rr_irregularity,
        "irregular": bool(m.irregular),
        "pr_ms": m.pr_ms,
        "qrs_ms": m.qrs_ms,
        "qt_ms": m.qt_ms,
        "qtc_ms": m.qtc_ms,
        "st_deviation_uv": [{"lead": k, "value": v} for k, v in m.st_deviation_uv.items()],
        "st_j60_uv": [{"lead": k, "value": v} for k, v in m.st_j60_uv.items()],
    }


def _emit(state: State, event_name: str, event: Json) -> list[Emitted]:
    if event_name != ECG_SUBMITTED:
        return []
    return [Emitted(READING, event["ecg_id"], ECG_MEASURED, measured_event(event))]


# No view, no fold: it only derives `EcgMeasured` from each `EcgSubmitted`.
PROCESSOR = Processor(name="ecg-measurer", topics=[CLINIC_ECG], emit=_emit)
