"""A hospital's outcome writes (Procedure, Condition, Encounter disposition) as events on
`hospital.outcome`: checked, versioned from the log, and turned into one event each.

Steps of one write (http.html#create, #update, #cond-update; used alone by
outcome_routes.py, and for every entry of a transaction Bundle before anything is appended):
1. the body validates with fhir.resources R4B (422, one issue per element wrong);
2. its subject is a Patient the caller can see (reads go through the jurisdiction-filtered
   `system.store`: another hospital's patient is a 404, as an unknown one); a named
   `encounter` must be visible too (404): an ambulance Encounter gives the event its
   incident (the crew's station then sees the outcome), a hospital one its arrival time;
3. its version is counted from the log, not from the views (read-your-writes: an update
   right after a create sees version 1 even before the projector folded it): the patient's
   records of the topic, latest event per resource. `If-Match` names that version or 412;
   `If-None-Exist` is evaluated on those latest resources (0 match: create, 1: answer it,
   more: 412), with the search parameters declared in kernel/search_params.py;
4. the event id is the idempotency key: the caller's `Idempotency-Key`, else a hash of who
   wrote what where (site, method, path, conditions, body). The same request again finds its
   first event in the log and gets the same answer (`Idempotent-Replayed: true`).
The Encounter is the hospital's (folded from ADT): a write sets only its
`hospitalization.dischargeDisposition`, and its version is the view's (ADT events count too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from avro_schemas.catalogue import OUTCOME
from avro_schemas.events import CONDITION_REPORTED, DISPOSITION_REPORTED, PROCEDURE_REPORTED
from kernel.ids import resource_id
from kernel.jsontypes import Json
from kernel.jurisdiction import compartments_of
from kernel.search_params import SEARCH_PARAMS
from kernel.text import ascii_digits
from kernel.time import instant
from services.outcome import FhirError
from services.system import System
from stream_processors.fhir_projector.published import record_ref

EVENTS = {
    "Procedure": PROCEDURE_REPORTED,
    "Condition": CONDITION_REPORTED,
    "Encounter": DISPOSITION_REPORTED,
}
SNOMED = "http://snomed.info/sct"
# Procedure.status is bound (required) to http://hl7.org/fhir/event-status; fhir.resources
# checks a code's format, not its value set, so the binding is checked here.
EVENT_STATUS = frozenset(
    {
        "preparation",
        "in-progress",
        "not-done",
        "on-hold",
        "stopped",
        "completed",
        "entered-in-error",
        "unknown",
    }
)
ID_NAMESPACE = uuid.UUID("6f1d7a52-8a9e-4c47-9f0b-6e2f0f3c2a11")  # outcome event ids


@dataclass(frozen=True)
class Caller:
    """Who writes: the hospital (the token's site; "" without auth) and the user."""

    site: str
    subject: str | None


@dataclass
class Prepared:
    """One write checked and ready to append (or an existing resource to answer)."""

    rtype: str
    rid: str
    patient_key: str
    event: Json
    created: bool
    existing: Json | None = None  # If-None-Exist matched: answer this, append nothing
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return EVENTS[self.rtype]


def validate(resource: Json, rtype: str) -> None:
    """422 naming every element fhir.resources R4B refuses."""
    if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
        got = resource.get("resourceType") if isinstance(resource, dict) else type(resource)
        raise FhirError(400, f"the body is a {got!r}, not a {rtype}", "invalid")
    try:
        get_fhir_model_class(rtype).model_validate(dict(resource))
    except ValidationError as exc:
        issues = [_issue(rtype, e) for e in exc.errors()]
        first = issues[0]
        raise FhirError(
            422, first["diagnostics"], "structure", first["expression"], more_issues=issues[1:]
        ) from exc
    if rtype == "Procedure" and resource.get("status") not in EVENT_STATUS:
        raise FhirError(
            422,
            f"Procedure.status {resource.get('status')!r} is not in the required value set "
            "http://hl7.org/fhir/event-status",
            "code-invalid",
            ["Procedure.status"],
        )


def _issue(rtype: str, error: Any) -> Json:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    expression = f"{rtype}{where}"
    return {
        "severity": "error",
        "code": "structure",
        "diagnostics": f"{expression}: {error['msg']}",
        "expression": [expression],
    }


def _reference_id(resource: Json, element: str, rtype: str) -> str | None:
    ref = (resource.get(element) or {}).get("reference") or ""
    if not ref:
        return None
    parts = ref.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != rtype:
        raise FhirError(
            422, f"{element} must reference a {rtype} (got {ref!r})", "invalid", [element]
        )
    return parts[-1]


def _visible(system: System, rtype: str, rid: str, element: str) -> Json:
    stored = system.store.read(rtype, rid)
    if stored is None:
        raise FhirError(404, f"{rtype}/{rid} ({element}) not found", "not-found", [element])
    return json.loads(stored.body)  # type: ignore[no-any-return]


def _incident_of(encounter: Json) -> str | None:
    """The ambulance incident of an Encounter (its `incident/<id>` compartment), if any."""
    for code in sorted(compartments_of(encounter)):
        parts = code.split("/")
        if parts[0] == "incident" and len(parts) == 2:
            return parts[1]
    return None


def _when(text: str | None) -> dt.datetime | None:
    if not text or "T" not in text:
        return None  # a date alone is no instant: not used for intervals
    at = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else None


def _first_code(concept: Json | None, system: str | None = SNOMED) -> str | None:
    for coding in (concept or {}).get("coding") or []:
        if system is None or coding.get("system") == system:
            return str(coding.get("code")) if coding.get("code") else None
    return None


def _device_at(resource: Json) -> dt.datetime | None:
    """Balloon / device time: performedDateTime, else performedPeriod.start."""
    return _when(resource.get("performedDateTime")) or _when(
        (resource.get("performedPeriod") or {}).get("start")
    )


def _specific(rtype: str, resource: Json) -> Json:
    if rtype == "Procedure":
        return {
            "code": _first_code(resource.get("code")),
            "status": resource["status"],
            "device_at": _device_at(resource),
        }
    if rtype == "Condition":
        return {
            "code": _first_code(resource.get("code")),
            "verification_status": _first_code(resource.get("verificationStatus"), None),
            "category": next(
                (c for c in (_first_code(x, None) for x in resource.get("category") or []) if c),
                None,
            ),
        }
    disposition = (resource.get("hospitalization") or {}).get("dischargeDisposition")
    return {"disposition_code": _first_code(disposition, None)}


# -- versions from the log ---------------------------------------------------------------


def latest_versions(system: System, patient_key: str) -> dict[tuple[str, str], Json]:
    """The patient's latest outcome event per (type, resource id), from the log."""
    return {
        (_type_of(name), e["resource_id"]): e for name, e in _patient_events(system, patient_key)
    }


def _patient_events(system: System, patient_key: str) -> list[tuple[str, Json]]:
    return [system.codec.decode(r.value) for r in system.log.key_records(OUTCOME, patient_key)]


def _type_of(event_name: str) -> str:
    return next(t for t, n in EVENTS.items() if n == event_name)


def _replay(system: System, rtype: str, patient_key: str, eid: str) -> Prepared | None:
    """The write this request already made (its event id is in the log), if any: a retry
    gets the first answer, even when its If-Match is no longer current."""
    for name, event in _patient_events(system, patient_key):
        if event["meta"]["event_id"] == eid and _type_of(name) == rtype:
            created = event["version"] == 1
            return Prepared(rtype, event["resource_id"], patient_key, event, created, replayed=True)
    return None


def parse_etag(value: str) -> int:
    text = value.strip()
    text = text[2:] if text.startswith("W/") else text
    text = text.strip('"')
    if not ascii_digits(text):
        raise FhirError(400, f'If-Match {value!r} is not an ETag (W/"<version>")', "invalid")
    return int(text)


def _matches(rtype: str, resource: Json, query: str) -> bool:
    """Does `resource` match every parameter of an If-None-Exist query (exact index keys)?"""
    params = SEARCH_PARAMS.get(rtype, {})
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "_id":
            if resource.get("id") not in value.split(","):
                return False
            continue
        param = params.get(name)
        if param is None or not param.indexed:
            raise FhirError(
                400,
                f"If-None-Exist: {name} is not a token, reference or string parameter of {rtype}",
                "not-supported",
                ["If-None-Exist"],
            )
        keys = set(param.index_keys(resource))
        if not any(v in keys or v.lower() in keys for v in value.split(",")):
            return False
    return True


def event_id(caller: Caller, method: str, path: str, conditions: str, body: Any, key: str) -> str:
    """The idempotency key: the caller's own, or a hash of the request."""
    if key:
        return str(uuid.uuid5(ID_NAMESPACE, f"{caller.site}|{key}"))
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(
        "|".join((caller.site, method, path, conditions, canonical)).encode()
    ).hexdigest()
    return str(uuid.uuid5(ID_NAMESPACE, digest))


# -- one write ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteRequest:
    """One write as asked: POST (rid None) or PUT, with its conditions and idempotency key."""

    rtype: str
    body: Json
    rid: str | None = None
    if_match: str | None = None
    if_none_exist: str | None = None
    event_id: str = ""


def prepare(
    system: System,
    caller: Caller,
    req: WriteRequest,
    pending: dict[tuple[str, str], Json] | None = None,
) -> Prepared:
    """Check one write (steps 1-3) and build its event; `pending`: the transaction's
    earlier entries (patient key -> latest events), counted as if already in the log."""
    if req.rtype not in EVENTS:
        raise FhirError(405, f"{req.rtype} is not written here", "not-supported")
    validate(req.body, req.rtype)
    if req.rid is not None and req.body.get("id") not in (None, req.rid):
        raise FhirError(400, f"the body's id {req.body.get('id')!r} is not {req.rid!r}", "invalid")
    if req.rtype == "Encounter":
        return _prepare_encounter(system, caller, req)
    patient = _reference_id(req.body, "subject", "Patient")
    if patient is None:
        raise FhirError(422, f"{req.rtype}.subject is required", "required", ["subject"])
    _visible(system, "Patient", patient, f"{req.rtype}.subject")
    if (replayed := _replay(system, req.rtype, patient, req.event_id)) is not None:
        return replayed
    latest = {**latest_versions(system, patient), **(pending or {})}
    existing = _conditional(req, latest)
    if existing is not None:
        found = json.loads(existing["resource"])
        return Prepared(req.rtype, found["id"], patient, existing, False, existing=existing)
    rid = req.rid or resource_id(req.rtype, "outcome", req.event_id)
    current = latest.get((req.rtype, rid))
    version = (current["version"] if current else 0) + 1
    _check_match(req, current["version"] if current else 0)
    resource = {k: v for k, v in req.body.items() if k != "meta"} | {"id": rid}
    links = _encounter_links(system, resource, req.rtype)
    event = _event(caller, req, rid, patient, version, resource, links)
    return Prepared(req.rtype, rid, patient, event, current is None)


def _conditional(req: WriteRequest, latest: dict[tuple[str, str], Json]) -> Json | None:
    if not req.if_none_exist or req.rid is not None:
        return None
    candidates = [e for (t, _), e in latest.items() if t == req.rtype]
    hits = [
        e for e in candidates if _matches(req.rtype, json.loads(e["resource"]), req.if_none_exist)
    ]
    if len(hits) > 1:
        raise FhirError(
            412, f"If-None-Exist {req.if_none_exist!r} matches {len(hits)} resources", "duplicate"
        )
    return hits[0] if hits else None


def _check_match(req: WriteRequest, current: int) -> None:
    if req.if_match is None:
        return
    wanted = parse_etag(req.if_match)
    if wanted != current:
        raise FhirError(
            412,
            f"If-Match {req.if_match}: {req.rtype}/{req.rid} is at version {current}",
            "conflict",
            headers={"ETag": f'W/"{current}"'} if current else None,
        )


def _encounter_links(system: System, resource: Json, rtype: str) -> Json:
    eid = _reference_id(resource, "encounter", "Encounter")
    if eid is None:
        return {"incident_id": None, "encounter_id": None, "arrived_at": None, "ecg_ids": []}
    encounter = _visible(system, "Encounter", eid, f"{rtype}.encounter")
    incident = _incident_of(encounter)
    arrived = None if incident else _when((encounter.get("period") or {}).get("start"))
    ecgs = _ecgs_of(system, incident) if incident else []
    return {"incident_id": incident, "encounter_id": eid, "arrived_at": arrived, "ecg_ids": ecgs}


def _ecgs_of(system: System, incident_id: str) -> list[str]:
    """The ECGs taken during an incident (its record's): the reading centre that read them
    then sees the outcome (their `ecg/<id>` compartments; the feedback loop)."""
    stored = system.store.read(*record_ref(incident_id))
    record = json.loads(stored.body) if stored else {}
    return sorted({e["ecg_id"] for e in record.get("ecgs") or [] if e.get("ecg_id")})


def _meta(caller: Caller, eid: str) -> Json:
    now = dt.datetime.now(dt.UTC)
    return {
        "event_id": eid,
        "occurred_at": now,
        "recorded_at": now,
        "source": {
            "channel": "fhir",
            "device_id": None,
            "user_id": caller.subject,
            "site_id": caller.site or None,
        },
    }


def _event(
    caller: Caller,
    req: WriteRequest,
    rid: str,
    patient: str,
    version: int,
    resource: Json,
    links: Json,
) -> Json:
    return {
        "meta": _meta(caller, req.event_id),
        "patient_key": patient,
        "resource_id": rid,
        "version": version,
        "hospital_id": caller.site,
        **links,
        **_specific(req.rtype, resource),
        "resource": json.dumps(resource, separators=(",", ":"), ensure_ascii=False),
    }


def _prepare_encounter(system: System, caller: Caller, req: WriteRequest) -> Prepared:
    if req.rid is None:
        raise FhirError(
            405,
            "Encounters come from ADT: PUT Encounter/<id> sets its disposition",
            "not-supported",
        )
    disposition = (req.body.get("hospitalization") or {}).get("dischargeDisposition")
    if not disposition:
        raise FhirError(
            422,
            "Encounter.hospitalization.dischargeDisposition is required (the only element "
            "written here)",
            "required",
            ["Encounter.hospitalization.dischargeDisposition"],
        )
    stored = system.store.read("Encounter", req.rid)
    if stored is None:
        raise FhirError(404, f"Encounter/{req.rid} not found", "not-found")
    current = json.loads(stored.body)
    if _incident_of(current) is not None:  # the incident fold rebuilds it from the crew's record
        raise FhirError(
            422,
            f"Encounter/{req.rid} is an ambulance Encounter: report the disposition on the "
            "hospital's Encounter (from ADT)",
            "business-rule",
            ["Encounter"],
        )
    patient = _reference_id(current, "subject", "Patient") or ""
    if (replayed := _replay(system, "Encounter", patient, req.event_id)) is not None:
        replayed.extra["resource"] = {k: v for k, v in current.items() if k != "meta"}
        return replayed
    _check_match(req, stored.version)
    links: Json = {"incident_id": None, "encounter_id": req.rid, "arrived_at": None, "ecg_ids": []}
    resource = {**req.body, "id": req.rid}
    resource.pop("meta", None)
    event = _event(caller, req, req.rid, patient, stored.version + 1, resource, links)
    merged = {k: v for k, v in current.items() if k != "meta"}
    merged["hospitalization"] = {
        **(current.get("hospitalization") or {}),
        "dischargeDisposition": disposition,
    }
    return Prepared("Encounter", req.rid, patient, event, False, extra={"resource": merged})


def answer_resource(prepared: Prepared, event: Json) -> Json:
    """The resource as the views will hold it after `event`, with its meta."""
    if prepared.rtype == "Encounter":
        body = prepared.extra.get("resource") or json.loads(event["resource"])
    else:
        body = json.loads(event["resource"])
    meta = {
        "versionId": str(event["version"]),
        "lastUpdated": instant(event["meta"]["recorded_at"]),
    }
    return {"resourceType": body["resourceType"], "id": body["id"], "meta": meta} | {
        k: v for k, v in body.items() if k not in ("resourceType", "id")
    }
