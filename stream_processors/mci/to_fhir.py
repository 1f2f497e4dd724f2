"""A casualty of an MCI as FHIR: a `Patient` (known by its triage tag number until the
hospital links it), an EMS `Encounter` (priority from the tag, destination hospital) and a
`Flag` carrying the current triage tag; every re-triage is a new version of the Flag, so
`Flag/{id}/_history` is the tag history (with the casualty record's own history list).

Pure functions of the MCI summary and the casualty's event; ids are uuid5 of
(mci id, casualty id), so a rebuild writes the same resources.
"""

from __future__ import annotations

from kernel.codes import SITE_ID
from kernel.ids import resource_id
from kernel.jsontypes import Json

TAG_SYSTEM = "https://goldenhour.health/sid/mci-triage-tag"  # identifier: "<mci>/<tag no.>"
TRIAGE_CODES = "https://goldenhour.health/fhir/CodeSystem/mci-triage-tag"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
TRIAGE_METHOD_URL = "https://goldenhour.health/fhir/StructureDefinition/mci-triage-method"
# Tag colour -> (display, v3 ActPriority of the transport): red immediate (EM), yellow
# delayed (UR), green minor (R), black dead/expectant (no transport priority).
TAGS: dict[str, tuple[str, str]] = {
    "RED": ("Immediate (red)", "EM"),
    "YELLOW": ("Delayed (yellow)", "UR"),
    "GREEN": ("Minor (green)", "R"),
    "BLACK": ("Dead or expectant (black)", ""),
}


def patient_id(mci_id: str, casualty_id: str) -> str:
    return resource_id("Patient", "mci", mci_id, casualty_id)


def encounter_id(mci_id: str, casualty_id: str) -> str:
    return resource_id("Encounter", "mci", mci_id, casualty_id)


def flag_id(mci_id: str, casualty_id: str) -> str:
    return resource_id("Flag", "mci-triage", mci_id, casualty_id)


def refs(mci_id: str, casualty_id: str) -> list[tuple[str, str]]:
    return [
        ("Patient", patient_id(mci_id, casualty_id)),
        ("Encounter", encounter_id(mci_id, casualty_id)),
        ("Flag", flag_id(mci_id, casualty_id)),
    ]


def patient(mci_id: str, casualty_id: str, triaged: Json) -> Json:
    out: Json = {
        "resourceType": "Patient",
        "id": patient_id(mci_id, casualty_id),
        "identifier": [{"system": TAG_SYSTEM, "value": f"{mci_id}/{casualty_id}"}],
        "active": True,
    }
    if triaged.get("sex") in ("male", "female", "unknown"):
        out["gender"] = triaged["sex"]
    return out


def _tag_code(tag: str) -> Json:
    return {"coding": [{"system": TRIAGE_CODES, "code": tag, "display": TAGS[tag][0]}]}


def encounter(mci: Json, casualty_id: str, start: str) -> Json:
    casualty = mci["casualties"][casualty_id]
    mci_id = mci["mci_id"]
    out: Json = {
        "resourceType": "Encounter",
        "id": encounter_id(mci_id, casualty_id),
        "identifier": [{"system": TAG_SYSTEM, "value": f"{mci_id}/{casualty_id}"}],
        "status": "finished" if mci["status"] == "closed" else "in-progress",
        "class": {"system": ACT_CODE, "code": "EMER", "display": "emergency"},
        "type": [{"text": f"Mass-casualty incident {mci.get('title') or mci_id}"}],
        "subject": {"reference": f"Patient/{patient_id(mci_id, casualty_id)}"},
        "period": {"start": start},
        "serviceProvider": {"identifier": {"system": SITE_ID, "value": casualty["station_id"]}},
    }
    priority = TAGS.get(casualty.get("tag", ""), ("", ""))[1]
    if priority:
        out["priority"] = {"coding": [{"system": ACT_PRIORITY, "code": priority}]}
    if casualty.get("hospital_id"):
        destination = {"identifier": {"system": SITE_ID, "value": casualty["hospital_id"]}}
        out["hospitalization"] = {"destination": destination}
    return out


def flag(mci: Json, casualty_id: str, triaged: Json) -> Json:
    mci_id = mci["mci_id"]
    return {
        "resourceType": "Flag",
        "id": flag_id(mci_id, casualty_id),
        "status": "inactive" if mci["status"] == "closed" else "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "clinical"}]}],
        "code": _tag_code(triaged["tag"]),
        "subject": {"reference": f"Patient/{patient_id(mci_id, casualty_id)}"},
        "encounter": {"reference": f"Encounter/{encounter_id(mci_id, casualty_id)}"},
        "period": {"start": mci["casualties"][casualty_id]["history"][-1]["at"]},
        "extension": [{"url": TRIAGE_METHOD_URL, "valueCode": triaged["method"]}],
    }
