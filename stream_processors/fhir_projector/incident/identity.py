"""Who the incident's patient is: the one rule shared by the ECG router (the patient of an
ambulance ECG) and the FHIR fold (the incident's Patient), so both name ONE Patient.

The crew's latest PatientRecorded names the patient (its identifiers plus the EMS temporary
id it carries); before that, or when nothing identifies them, the patient goes by the
incident id as temporary id.
"""

from __future__ import annotations

import datetime as dt

from kernel.codes import EMS_TEMPORARY_ID
from kernel.jsontypes import Json


def recorded_patient(event: Json) -> Json:
    """PatientRecorded -> patient details, the temporary id appended to the identifiers."""
    details = dict(event["patient"])
    if event.get("temporary_id"):
        details["identifiers"] = [
            *details.get("identifiers", []),
            {"system": EMS_TEMPORARY_ID, "value": event["temporary_id"]},
        ]
    return details


def patient_details(incident_id: str, recorded: Json | None) -> Json:
    """The recorded patient, or an unidentified one named by the incident's temporary id."""
    recorded = recorded or {}
    if recorded.get("identifiers"):
        return recorded
    return {
        "identifiers": [{"system": EMS_TEMPORARY_ID, "value": incident_id}],
        "family": None,
        "given": None,
        "gender": recorded.get("gender"),
        "birth_date": None,
        "estimated_age_years": recorded.get("estimated_age_years"),
    }


def stored_details(details: Json) -> Json:
    """Patient details as JSON, for a processor's stored state (the event's `birth_date` is
    a date, which JSON cannot hold)."""
    birth = details.get("birth_date")
    if not isinstance(birth, dt.date):
        return details
    return {**details, "birth_date": birth.isoformat()}


def event_details(details: Json) -> Json:
    """Stored patient details back in the event's shape (`birth_date` a date)."""
    birth = details.get("birth_date")
    if not isinstance(birth, str):
        return details
    return {**details, "birth_date": dt.date.fromisoformat(birth)}
