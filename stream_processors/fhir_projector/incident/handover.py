"""IncidentRecord -> the handover Composition (LOINC 67796-3 EMS patient care report).

Exists from the first pre-alert or handover; `preliminary` until the hospital accepts the
handover, then `final`, and re-versioned by every later event of the incident. Sections
follow ATMIST (Age, Time of onset, Mechanism, Injuries/illness, Signs, Treatment), then the
ECGs, the pre-alerts and the crew's narrative; each has an xhtml text combining what the
crew wrote in the handover with what was recorded, and entries referencing the recorded
resources (so `Composition/$document` can bundle them). IHE Paramedicine Care Summary
(mPSC) is the guide for the document code.
"""

from __future__ import annotations

from kernel.jsontypes import Json
from stream_processors.fhir_projector.incident.codes import (
    CREW_USER_ID,
    HANDOVER_DOCUMENT,
    HANDOVER_DOCUMENT_ID,
    HANDOVER_SECTION,
    LIST_EMPTY_REASON,
    LOINC,
    SECTIONS,
    STATION_ID,
)
from stream_processors.fhir_projector.incident.encounter import encounter_id
from stream_processors.fhir_projector.incident.narrative import narrative
from stream_processors.fhir_projector.incident.record import COMPOSITION

composition_id = COMPOSITION.id


def _ref(ref: str) -> Json:
    return {"reference": ref}


def _code(key: str) -> Json:
    title, loinc = SECTIONS[key]
    codings = [{"system": LOINC, "code": loinc[0], "display": loinc[1]}] if loinc else []
    codings.append({"system": HANDOVER_SECTION, "code": key, "display": title})
    return {"coding": codings, "text": title}


def section(key: str, paragraphs: list[str], items: list[str], entries: list[str]) -> Json:
    out: Json = {
        "title": SECTIONS[key][0],
        "code": _code(key),
        "text": narrative(paragraphs, items),
    }
    if entries:
        out["entry"] = [_ref(e) for e in entries]
    elif not (paragraphs or items):
        out["emptyReason"] = {"coding": [{"system": LIST_EMPTY_REASON, "code": "unavailable"}]}
    return out


def _crew(record: Json, field: str) -> list[str]:
    text = ((record["handover"] or {}).get("atmist") or {}).get(field)
    return [f"Crew: {text}"] if text else []


def _patient_line(patient: Json | None) -> list[str]:
    if not patient:
        return []
    parts = [patient.get("gender") or "gender not recorded"]
    if patient.get("birth_date"):
        parts.append(f"born {patient['birth_date']}")
    if patient.get("estimated_age_years") is not None:
        parts.append(f"about {patient['estimated_age_years']} years (estimated)")
    return ["Patient: " + ", ".join(parts)]


def _age(record: Json) -> Json:
    entries = [f"Patient/{record['patient_id']}"] if record["patient_id"] else []
    if record["age_observation"]:
        entries.append(f"Observation/{record['age_observation']}")
    return section("age", _crew(record, "age") + _patient_line(record["patient"]), [], entries)


def _time(record: Json) -> Json:
    opened = record["opened"] or {}
    lines = [f"Call taken {opened['at']}"] if opened.get("at") else []
    return section("time", _crew(record, "time") + lines, [], [])


def _mechanism(record: Json) -> Json:
    reason = (record["opened"] or {}).get("dispatch_reason")
    return section(
        "mechanism",
        _crew(record, "mechanism") + ([f"Dispatch: {reason}"] if reason else []),
        [],
        [],
    )


def _injuries(record: Json) -> Json:
    alerts = [f"Pre-alert {p['kind']}" for p in record["prealerts"]]
    return section("injuries", _crew(record, "injuries") + alerts, [], [])


def _signs(record: Json) -> Json:
    trend = [f"{v['at']}: {v['summary']}" for v in record["vitals"]]
    entries = [f"Observation/{i}" for v in record["vitals"] for i in (*v["members"], v["panel"])]
    return section("signs", _crew(record, "signs"), trend, entries)


def _treatment(record: Json) -> Json:
    items = [f"{t['at']}: {t['text']}" for t in record["treatments"]]
    return section(
        "treatment", _crew(record, "treatment"), items, [t["ref"] for t in record["treatments"]]
    )


def _ecgs(record: Json) -> Json:
    items = [f"{e['at']}: 12-lead ECG {e['ecg_id']}" for e in record["ecgs"]]
    return section("ecg", [], items, [e["ref"] for e in record["ecgs"]])


def _prealerts(record: Json) -> Json:
    items = [
        f"{p['at']}: {p['kind']} to {p['destination_id']}"
        + (f", ETA {p['eta']}" if p.get("eta") else "")
        for p in record["prealerts"]
    ]
    return section("prealerts", [], items, [f"Flag/{p['ref']}" for p in record["prealerts"]])


def _narrative(record: Json) -> Json:
    text = (record["handover"] or {}).get("narrative")
    return section("narrative", [text] if text else [], [], [])


def _authors(record: Json) -> list[Json]:
    opened = record["opened"] or {}
    unit = opened.get("unit_id", "")
    station = opened.get("station_id")
    authors: list[Json] = []
    if station:
        authors.append(
            {
                "type": "Organization",
                "identifier": {"system": STATION_ID, "value": station},
                "display": f"120 station {station}" + (f", unit {unit}" if unit else ""),
            }
        )
    user = (record["handover"] or {}).get("user_id")
    if user:
        authors.append(
            {"type": "Practitioner", "identifier": {"system": CREW_USER_ID, "value": user}}
        )
    return authors or [{"display": f"120 unit {unit}".strip()}]


def composition(record: Json) -> Json | None:
    """The handover document's Composition, or None before any pre-alert or handover."""
    if not (record["prealerts"] or record["handover"]):
        return None
    incident = record["incident_id"]
    comp: Json = {
        "resourceType": "Composition",
        "id": composition_id(incident),
        "identifier": {"system": HANDOVER_DOCUMENT_ID, "value": incident},
        "status": "final" if record["accepted"] else "preliminary",
        "type": {
            "coding": [
                {"system": LOINC, "code": HANDOVER_DOCUMENT[0], "display": HANDOVER_DOCUMENT[1]}
            ]
        },
        "encounter": _ref(f"Encounter/{encounter_id(incident)}"),
        "date": record["date"],
        "author": _authors(record),
        "title": f"Ambulance handover, incident {incident}",
        "section": [
            f(record)
            for f in (
                _age,
                _time,
                _mechanism,
                _injuries,
                _signs,
                _treatment,
                _ecgs,
                _prealerts,
                _narrative,
            )
        ],
    }
    if record["patient_id"]:
        comp["subject"] = _ref(f"Patient/{record['patient_id']}")
    return comp
