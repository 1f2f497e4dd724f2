"""VitalsRecorded -> vital-sign Observations (FHIR vital-signs profile conventions).

One Observation per measurement of the set, except systolic and diastolic pressure, which
the tablet sends as two entries and FHIR wants as one blood pressure panel (85354-9) with
two components; plus one vital signs panel (85353-1) per set whose `hasMember` lists them.
SpO2 carries 2708-6 beside 59408-5, as the vital-signs profile requires. Ids derive from the
event id and the LOINC code (a repeated code gets its position), so replays give the same.
"""

from __future__ import annotations

from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.time import instant
from stream_processors.fhir_projector.incident.codes import (
    BP_PANEL,
    DIASTOLIC,
    LOINC,
    OBSERVATION_CATEGORY,
    SPO2,
    SPO2_ARTERIAL,
    SYSTOLIC,
    UCUM,
    VITAL_SIGNS_PANEL,
    VITALS,
)

VITAL_SIGNS_CATEGORY = [
    {"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
]


def vital_id(event_id: str, key: str) -> str:
    return resource_id("Observation", "vital", event_id, key)


def panel_id(event_id: str) -> str:
    return resource_id("Observation", "vitals-panel", event_id)


def _loinc(code: str, display: str | None = None) -> Json:
    return {"system": LOINC, "code": code, **({"display": display} if display else {})}


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def quantity(q: Json) -> Json:
    return {"value": _number(q["value"]), "unit": q["unit"], "system": UCUM, "code": q["unit"]}


def _code(loinc: str) -> Json:
    display = VITALS.get(loinc, (None,))[0]
    codings = [_loinc(loinc, display)]
    if loinc == SPO2:
        codings.append(_loinc(*SPO2_ARTERIAL))
    return {"coding": codings, **({"text": display} if display else {})}


def _keys(vitals: list[Json]) -> list[str]:
    """A key per entry: its LOINC code, BP entries joined under the panel's code."""
    seen: dict[str, int] = {}
    keys = []
    for v in vitals:
        key = BP_PANEL[0] if v["loinc"] in (SYSTOLIC, DIASTOLIC) else v["loinc"]
        if key != BP_PANEL[0]:
            seen[key] = seen.get(key, 0) + 1
            key = key if seen[key] == 1 else f"{key}#{seen[key]}"
        keys.append(key)
    return keys


def _base(oid: str, event: Json, subject: str, encounter: str, code: Json) -> Json:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": VITAL_SIGNS_CATEGORY,
        "code": code,
        "subject": {"reference": f"Patient/{subject}"},
        "encounter": {"reference": f"Encounter/{encounter}"},
        "effectiveDateTime": instant(event["meta"]["occurred_at"]),
        "issued": instant(event["meta"]["recorded_at"]),
    }


def vital_observations(event: Json, subject: str, encounter: str) -> list[Json]:
    """The set's member Observations in entry order (the BP panel where its first part was),
    then the vital signs panel."""
    eid = event["meta"]["event_id"]
    members: dict[str, Json] = {}
    for key, v in zip(_keys(event["vitals"]), event["vitals"], strict=True):
        if key == BP_PANEL[0]:
            panel = members.setdefault(
                key,
                _base(vital_id(eid, key), event, subject, encounter, _bp_code())
                | {"component": []},
            )
            panel["component"].append(
                {"code": _code(v["loinc"]), "valueQuantity": quantity(v["quantity"])}
            )
        else:
            members[key] = _base(vital_id(eid, key), event, subject, encounter, _code(v["loinc"]))
            members[key]["valueQuantity"] = quantity(v["quantity"])
    panel = _base(
        panel_id(eid), event, subject, encounter, {"coding": [_loinc(*VITAL_SIGNS_PANEL)]}
    )
    panel["code"]["text"] = "Vital signs"
    panel["hasMember"] = [{"reference": f"Observation/{m['id']}"} for m in members.values()]
    return [*members.values(), panel]


def _bp_code() -> Json:
    return {"coding": [_loinc(*BP_PANEL)], "text": "Blood pressure"}


def vitals_refs(event: Json) -> list[tuple[str, str]]:
    eid = event["meta"]["event_id"]
    keys = list(dict.fromkeys(_keys(event["vitals"])))
    return [("Observation", vital_id(eid, k)) for k in keys] + [("Observation", panel_id(eid))]


def summary(event: Json) -> str:
    """One line of the set for the handover's trend: `HR 112 /min, BP 158/96 mm[Hg], ...`."""
    by_code = {v["loinc"]: v["quantity"] for v in event["vitals"]}
    parts = []
    for v in event["vitals"]:
        code, q = v["loinc"], v["quantity"]
        if code == SYSTOLIC:
            dia = by_code.get(DIASTOLIC)
            value = f"{_number(q['value'])}/{_number(dia['value'])}" if dia else _number(q["value"])
            parts.append(f"BP {value} {q['unit']}")
        elif code == DIASTOLIC and SYSTOLIC in by_code:
            continue
        else:
            label = VITALS.get(code, ("", code, ""))[1]
            parts.append(f"{label} {_number(q['value'])} {q['unit']}")
    return ", ".join(parts)
