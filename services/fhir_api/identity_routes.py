"""`Patient/$merge` and `Patient/$unmerge`: one person's two Patient records linked, or the
link undone. Writes go through the identity write path (services/ingest/patient_links.py)
as `PatientLinked` / `PatientUnlinked` events; the FHIR projector folds them into the
Patients' `link` and `active` and a Provenance (stream_processors/fhir_projector/
identity_to_fhir.py), so the answer describes what the views will show, not yet what they
show (they follow within a poll).

`$merge` follows FHIR R5 patient-operation-merge.html, served to R4 clients as a custom
operation; input Parameters (body, application/fhir+json or application/json):
    source-patient             valueReference (Patient/<id>, an absolute URL, or .identifier)
    source-patient-identifier  valueIdentifier (repeatable: the first that names a Patient)
    target-patient             valueReference           target-patient-identifier  as above
    result-patient             resource, optional: must be the target (same id); its content
                               is NOT applied (Patients are folded from their sources: send
                               demographics through ADT, ECG or tablet), a warning says so
    preview                    valueBoolean: answer without writing
    performer, reason          valueString (ours): who merged and why, for the Provenance
R4 tolerance: valueString "Patient/<id>" instead of valueReference, and a Patient
`resource` (its id) for source/target are accepted.
Output: 200 Parameters {input, outcome (OperationOutcome), result (the target Patient as it
will be)}. Errors are OperationOutcomes: 400 missing or malformed parameters, 404 unknown
patient, 409 a source already merged elsewhere / an inactive target, 422 result-patient
not the target, 503 log unavailable. Merging what is already merged answers 200 and writes
nothing (a retry is safe).

`$unmerge` (not in FHIR R4 or R5; chosen over a `$merge` undo flag so that each operation
has one meaning): the same source/target parameters, plus performer and reason; it undoes
one merge. 200 Parameters {outcome, result (the target as it will be), source (the source
as it will be: as before the merge)}; 409 when the two are not merged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from eventlog.base import LogUnavailable
from kernel.jsontypes import Json
from services.deps import SystemDep
from services.fhir_api.negotiate import negotiate
from services.ingest import patient_links as links
from services.outcome import FHIR_JSON, FhirError, issue, log_unavailable, operation_outcome
from services.system import System
from stream_processors.fhir_projector.published import fold_linked, fold_unlinked

router = APIRouter(prefix="/fhir", tags=["fhir"], dependencies=[Depends(negotiate)])


PERFORMER_MAX = 200
CHANNEL = "http"


@router.post("/Patient/$merge")
async def patient_merge(request: Request, system: SystemDep) -> Response:
    """Merge the source Patient into the target (R5 patient-operation-merge.html)."""
    params = await _parameters(request)
    return _json(await run_in_threadpool(merge, system, params))


@router.post("/Patient/$unmerge")
async def patient_unmerge(request: Request, system: SystemDep) -> Response:
    """Undo one merge: both Patients as they were before it."""
    params = await _parameters(request)
    return _json(await run_in_threadpool(unmerge, system, params))


def merge(system: System, params: Json) -> Json:
    source, target = _patients(system, params)
    try:
        exists = links.check_link(source, target)
    except links.LinkRefused as exc:
        raise _refused(exc) from exc
    event = links.linked_event(source, target, _reason(params, "api-merge"), _meta(params))
    preview = _flag(params, "preview")
    notes = _result_notes(params, target)
    if exists:
        notes.append(
            issue("already merged: nothing written", "informational", severity="information")
        )
    elif not preview:
        _write(links.append_linked, system, event)
    state = {("Patient", source.id): source.resource, ("Patient", target.id): target.resource}
    result = fold_linked(state, event)[("Patient", target.id)]
    done = (
        "preview: nothing written"
        if preview
        else f"Patient/{source.id} merged into Patient/{target.id}"
    )
    outcome = operation_outcome([issue(done, "informational", severity="information"), *notes])
    return _out(("input", _resource(params)), ("outcome", outcome), ("result", result))


def unmerge(system: System, params: Json) -> Json:
    source, target = _patients(system, params)
    try:
        links.check_unlink(source, target)
    except links.LinkRefused as exc:
        raise _refused(exc) from exc
    event = links.unlinked_event(source, target, _reason(params, "api-unmerge"), _meta(params))
    _write(links.append_unlinked, system, event)
    state = {("Patient", source.id): source.resource, ("Patient", target.id): target.resource}
    after = fold_unlinked(state, event)
    done = f"Patient/{source.id} unmerged from Patient/{target.id}"
    outcome = operation_outcome([issue(done, "informational", severity="information")])
    return _out(
        ("outcome", outcome),
        ("result", after[("Patient", target.id)]),
        ("source", after[("Patient", source.id)]),
    )


def _write(append: Callable[[System, Json], bool], system: System, event: Json) -> None:
    try:
        append(system, event)
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc


# -- Parameters in ---------------------------------------------------------------------


async def _parameters(request: Request) -> Json:
    """The body as {name: [parameter, ...]} (names repeat in FHIR Parameters)."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise FhirError(400, f"body is not JSON: {exc}", "structure") from exc
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise FhirError(400, "the body must be a FHIR Parameters resource", "structure")
    out: Json = {"_body": body}
    for p in body.get("parameter") or []:
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            out.setdefault(p["name"], []).append(p)
    return out


def _resource(params: Json) -> Json:
    return dict(params["_body"])


def _patients(system: System, params: Json) -> tuple[links.PatientAt, links.PatientAt]:
    return _patient(system, params, "source"), _patient(system, params, "target")


def _patient(system: System, params: Json, role: str) -> links.PatientAt:
    """The Patient a role's parameters name (reference first, then identifiers); 404 if none."""
    named = [*params.get(f"{role}-patient", []), *params.get(f"{role}-patient-identifier", [])]
    if not named:
        raise FhirError(
            400,
            f"{role}-patient (valueReference) or {role}-patient-identifier (valueIdentifier) "
            "is required",
            "required",
            [f"{role}-patient"],
        )
    for parameter in named:
        found = _lookup(system, parameter, role)
        if found is not None:
            return found
    raise FhirError(
        404, f"{role} patient not found: {_describe(named)}", "not-found", [f"{role}-patient"]
    )


def _lookup(system: System, parameter: Json, role: str) -> links.PatientAt | None:
    store = system.store
    ident = parameter.get("valueIdentifier") or (parameter.get("valueReference") or {}).get(
        "identifier"
    )
    if ident:
        if not isinstance(ident, dict) or not ident.get("system") or not ident.get("value"):
            raise FhirError(
                400, f"{role}: an identifier needs system and value", "invalid", [f"{role}-patient"]
            )
        return links.by_identifier(store, str(ident["system"]), str(ident["value"]))
    return links.by_id(store, _reference_id(parameter, role))


def _reference_id(parameter: Json, role: str) -> str:
    """The Patient id of a valueReference, a valueString (R4 clients) or a resource."""
    if isinstance(parameter.get("resource"), dict):
        return str(parameter["resource"].get("id") or "")
    raw = (parameter.get("valueReference") or {}).get("reference") or parameter.get("valueString")
    parts = str(raw or "").rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != "Patient" or not parts[-1]:
        raise FhirError(
            400,
            f"{role}-patient: {raw!r} is not a Patient reference (Patient/<id>)",
            "invalid",
            [f"{role}-patient"],
        )
    return parts[-1]


def _describe(named: list[Json]) -> str:
    return "; ".join(json.dumps({k: v for k, v in p.items() if k != "name"}) for p in named)


def _string(params: Json, name: str) -> str | None:
    values = params.get(name) or []
    if not values:
        return None
    p = values[0]
    text = p.get("valueString") or (p.get("valueReference") or {}).get("display")
    if not isinstance(text, str) or not text.strip() or len(text) > PERFORMER_MAX:
        raise FhirError(400, f"{name}: a string of 1-{PERFORMER_MAX} characters", "invalid", [name])
    return text.strip()


def _reason(params: Json, default: str) -> str:
    return _string(params, "reason") or default


def _flag(params: Json, name: str) -> bool:
    values = params.get(name) or []
    return bool(values and values[0].get("valueBoolean") is True)


def _meta(params: Json) -> Json:
    source = {"channel": CHANNEL, "user_id": _string(params, "performer")}
    return links.meta(links.new_event_id(), dt.datetime.now(dt.UTC), source)


def _result_notes(params: Json, target: links.PatientAt) -> list[Json]:
    """result-patient must be the target; its content is not applied (a warning says so)."""
    given = params.get("result-patient") or []
    if not given:
        return []
    resource = given[0].get("resource") or {}
    if resource.get("resourceType") != "Patient" or resource.get("id") != target.id:
        raise FhirError(
            422,
            f"result-patient must be the target Patient/{target.id}",
            "business-rule",
            ["result-patient"],
        )
    text = (
        "result-patient accepted as the target; its content is not applied: Patients are "
        "folded from their sources (ADT, ECG, tablet)"
    )
    return [issue(text, "informational", ["result-patient"], severity="warning")]


def _refused(exc: links.LinkRefused) -> FhirError:
    status = {"not-found": 404, "conflict": 409}.get(exc.code, 400)
    code = {"conflict": "business-rule"}.get(exc.code, exc.code)
    return FhirError(status, str(exc), code, [f"{exc.role}-patient"])


# -- Parameters out ----------------------------------------------------------------------


def _out(*parts: tuple[str, Json]) -> Json:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": name, "resource": resource} for name, resource in parts],
    }


def _json(doc: Json) -> Response:
    return Response(
        json.dumps(doc, separators=(",", ":"), ensure_ascii=False), media_type=FHIR_JSON
    )
