"""PreAlertRaised -> Flag: "STEMI patient inbound to this hospital, ETA 10:15".

A Flag, not a Communication: a pre-alert is a state with a lifetime (active from the alert
until the hospital accepted the handover, then inactive), which is what Flag models and what
EMR banners and ED boards list (`Flag?patient=...&status=active`); a Communication records
one message sent and has no such lifecycle. One Flag per incident and kind: raising the same
kind again (a new ETA) updates it.
"""

from __future__ import annotations

from kernel.ids import resource_id
from kernel.jsontypes import Json
from stream_processors.fhir_projector.incident.codes import (
    DESTINATION_URL,
    ETA_URL,
    FLAG_CATEGORY,
    PREALERT_FINDINGS,
    PREALERT_KIND,
    PREALERT_KINDS,
    SITE_ID,
    SNOMED,
    STATION_ID,
)
from stream_processors.fhir_projector.incident.encounter import encounter_id


def flag_id(incident_id: str, kind: str) -> str:
    return resource_id("Flag", "prealert", incident_id, kind)


def flag_refs(incident_id: str, kinds: tuple[str, ...] = PREALERT_KINDS) -> list[tuple[str, str]]:
    return [("Flag", flag_id(incident_id, k)) for k in kinds]


def _code(alert: Json) -> Json:
    kind = alert["kind"]
    codings = [{"system": PREALERT_KIND, "code": kind, "display": f"{kind} pre-alert"}]
    if kind in PREALERT_FINDINGS:
        code, display = PREALERT_FINDINGS[kind]
        codings.append({"system": SNOMED, "code": code, "display": display})
    text = f"{kind} pre-alert to {alert['destination_id']}"
    if alert.get("eta"):
        text += f", ETA {alert['eta']}"
    if alert.get("note"):
        text += f": {alert['note']}"
    return {"coding": codings, "text": text}


def flag(record: Json, alert: Json) -> Json:
    ended = record["accepted"]["at"] if record["accepted"] else ""
    extension = [
        {
            "url": DESTINATION_URL,
            "valueIdentifier": {"system": SITE_ID, "value": alert["destination_id"]},
        }
    ]
    if alert.get("eta"):
        extension.insert(0, {"url": ETA_URL, "valueDateTime": alert["eta"]})
    out: Json = {
        "resourceType": "Flag",
        "id": alert["ref"],
        "extension": extension,
        "status": "inactive" if ended else "active",
        "category": [
            {"coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]}
        ],
        "code": _code(alert),
        "subject": {"reference": f"Patient/{record['patient_id']}"},
        "period": {"start": alert["at"], **({"end": ended} if ended else {})},
        "encounter": {"reference": f"Encounter/{encounter_id(record['incident_id'])}"},
    }
    station = (record["opened"] or {}).get("station_id")
    if station:
        out["author"] = {
            "type": "Organization",
            "identifier": {"system": STATION_ID, "value": station},
            "display": f"120 station {station}",
        }
    return out
