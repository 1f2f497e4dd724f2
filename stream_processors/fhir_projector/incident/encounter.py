"""IncidentRecord -> the EMS Encounter (class EMER, type SNOMED CT Emergency medical services).

The unit timeline (NEMSIS-style times) is in the resource twice: every point as an
`ems-timeline-point` extension (status code, time, who), and summarised as FHIR status
history (`in-progress` until care ended, then `finished`), `period` (start: call/opening,
end: transfer of care) and location periods (scene, ambulance, destination hospital).
The transfer-of-care time is the hospital's HandoverAccepted when there is one.
"""

from __future__ import annotations

from kernel.jsontypes import Json
from stream_processors.fhir_projector.incident.codes import (
    ACT_PRIORITIES,
    ACT_PRIORITY,
    CLINICIAN_ID,
    DISPATCH_PRIORITY,
    EMERGENCY_CLASS,
    EMS_ENCOUNTER_TYPE,
    INCIDENT_ID,
    SITE,
    SITE_ID,
    STATION_ID,
    TIMELINE_URL,
    UNIT_ID,
    UNIT_STATUS,
    UNIT_STATUSES,
    VEHICLE,
)
from stream_processors.fhir_projector.incident.record import (
    ENCOUNTER,
    care_ended,
    destination,
    first_time,
)

encounter_id = ENCOUNTER.id


def _period(start: str, end: str) -> Json:
    return {**({"start": start} if start else {}), **({"end": end} if end else {})}


def timeline_point(point: Json) -> Json:
    display, nemsis = UNIT_STATUSES.get(point["status"], UNIT_STATUSES["UNKNOWN"])
    parts: list[Json] = [
        {
            "url": "status",
            "valueCoding": {
                "system": UNIT_STATUS,
                "code": point["status"],
                "display": f"{display} (NEMSIS {nemsis})" if nemsis else display,
            },
        },
        {"url": "time", "valueDateTime": point["at"]},
    ]
    if point.get("unit_id"):
        parts.append(
            {"url": "unit", "valueIdentifier": {"system": UNIT_ID, "value": point["unit_id"]}}
        )
    if point.get("accepted_by"):
        parts.append({"url": "acceptedBy", "valueReference": _clinician(point["accepted_by"])})
    if point.get("hospital_id"):
        parts.append(
            {
                "url": "hospital",
                "valueIdentifier": {"system": SITE_ID, "value": point["hospital_id"]},
            }
        )
    return {"url": TIMELINE_URL, "extension": parts}


def _clinician(user_id: str) -> Json:
    return {
        "type": "Practitioner",
        "identifier": {"system": CLINICIAN_ID, "value": user_id},
        "display": user_id,
    }


def _start(record: Json) -> str:
    times = [p["at"] for p in record["timeline"]]
    if record["opened"]:
        times.append(record["opened"]["at"])
    return min(times, default="")


def _status_history(record: Json) -> list[Json]:
    start, ended = _start(record), care_ended(record)
    if not start:
        return []
    history = [{"status": "in-progress", "period": _period(start, ended)}]
    if ended:
        history.append({"status": "finished", "period": {"start": ended}})
    return history


def _priority(priority: str) -> Json:
    codings = [{"system": DISPATCH_PRIORITY, "code": priority}]
    if priority in ACT_PRIORITIES:
        code, display = ACT_PRIORITIES[priority]
        codings.insert(0, {"system": ACT_PRIORITY, "code": code, "display": display})
    return {"coding": codings, "text": f"120 dispatch priority {priority}"}


def _scene(opened: Json) -> Json | None:
    scene = opened.get("scene")
    if not scene:
        return None
    location: Json = {"resourceType": "Location", "id": "scene", "mode": "instance"}
    location["physicalType"] = {"coding": [SITE]}
    if scene.get("address"):
        location["address"] = {"text": scene["address"]}
    if scene.get("latitude") is not None and scene.get("longitude") is not None:
        location["position"] = {"latitude": scene["latitude"], "longitude": scene["longitude"]}
    return location


def _location_status(start: str, end: str) -> str:
    return "completed" if end else "active" if start else "planned"


def _locations(record: Json, scene: Json | None) -> list[Json]:
    ended = care_ended(record)
    out = []
    if scene:
        on, off = first_time(record, "ON_SCENE"), first_time(record, "LEFT_SCENE")
        out.append(
            {
                "location": {"reference": "#scene", "display": "Scene"},
                "status": _location_status(on, off),
                "physicalType": {"coding": [SITE]},
                **({"period": _period(on, off)} if on else {}),
            }
        )
    unit = (record["opened"] or {}).get("unit_id")
    if unit:
        off, arrived = first_time(record, "LEFT_SCENE"), first_time(record, "AT_DESTINATION")
        out.append(
            {
                "location": {
                    "identifier": {"system": UNIT_ID, "value": unit},
                    "display": f"Ambulance {unit}",
                },
                "status": _location_status(off, arrived),
                "physicalType": {"coding": [VEHICLE]},
                **({"period": _period(off, arrived)} if off else {}),
            }
        )
    hospital = destination(record)
    if hospital:
        arrived = first_time(record, "AT_DESTINATION") or ended
        out.append(
            {
                "location": {
                    "identifier": {"system": SITE_ID, "value": hospital},
                    "display": f"Destination {hospital}",
                },
                "status": _location_status(arrived, ended if arrived else ""),
                **({"period": _period(arrived, ended)} if arrived else {}),
            }
        )
    return out


def encounter(record: Json) -> Json:
    """The Encounter of the incident as recorded so far (without meta)."""
    incident, opened = record["incident_id"], record["opened"] or {}
    enc: Json = {
        "resourceType": "Encounter",
        "id": encounter_id(incident),
        "extension": [timeline_point(p) for p in record["timeline"]],
        "identifier": [{"system": INCIDENT_ID, "value": incident}],
        "status": "finished" if care_ended(record) else "in-progress",
        "statusHistory": _status_history(record),
        "class": EMERGENCY_CLASS,
        "type": [{"coding": [EMS_ENCOUNTER_TYPE], "text": "Ambulance (prehospital) care"}],
    }
    scene = _scene(opened)
    if scene:
        enc["contained"] = [scene]
    if opened.get("priority"):
        enc["priority"] = _priority(opened["priority"])
    if record["patient_id"]:
        enc["subject"] = {"reference": f"Patient/{record['patient_id']}"}
    enc["period"] = _period(_start(record), care_ended(record))
    if opened.get("dispatch_reason"):
        enc["reasonCode"] = [{"text": opened["dispatch_reason"]}]
    if destination(record):
        enc["hospitalization"] = {
            "destination": {
                "type": "Location",
                "identifier": {"system": SITE_ID, "value": destination(record)},
            }
        }
    enc["location"] = _locations(record, scene)
    if opened.get("station_id"):
        enc["serviceProvider"] = {
            "type": "Organization",
            "identifier": {"system": STATION_ID, "value": opened["station_id"]},
            "display": f"120 station {opened['station_id']}",
        }
    return {k: v for k, v in enc.items() if v not in ([], {})}
