"""A hospital reports outcomes back through FHIR: each write is an event on
`hospital.outcome` (services/fhir_api/outcome_write.py checks and builds it), folded into
the views by the FHIR projector (stream_processors/fhir_projector/outcome_to_fhir.py).

| method, path                 | what (FHIR http.html)                                        |
|------------------------------|--------------------------------------------------------------|
| POST /fhir/Procedure         | create (#create); `If-None-Exist` (#ccreate): 200 the match |
| POST /fhir/Condition         |                                                              |
| PUT  /fhir/Procedure/{id}    | update or create with the client's id (#update); `If-Match`  |
| PUT  /fhir/Condition/{id}    | with the current ETag, else 412 (#concurrency)               |
| PUT  /fhir/Encounter/{id}    | the hospital Encounter's hospitalization.dischargeDisposition|
| POST /fhir (transaction)     | a transaction Bundle (#transaction): every entry checked     |
|                              | first; one bad entry, nothing written                        |

2xx only once the log acknowledged (503 otherwise: retry the same request). The answer
names the version the views will hold (`Location: .../_history/<v>`, `ETag`); the views
follow within a poll. The same request again (same body, conditions and path, or the same
`Idempotency-Key` header) appends nothing and gets the first answer with
`Idempotent-Replayed: true`. Atomicity of a transaction: nothing is appended unless every
entry passed; the entries' events are appended per patient in one call each, and a log
failure in between is mended by retrying the same Bundle (its event ids are derived from it).
"""

from __future__ import annotations

import json
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from avro_schemas.catalogue import OUTCOME
from eventlog.base import LogUnavailable, NewRecord
from kernel.ids import resource_id
from kernel.jsontypes import Json
from services.auth.context import current_principal, enforced
from services.deps import SystemDep
from services.fhir_api.negotiate import negotiate
from services.fhir_api.outcome_write import (
    Caller,
    Prepared,
    answer_resource,
    event_id,
    prepare,
)
from services.fhir_api.outcome_write import (
    WriteRequest as Write,
)
from services.outcome import FHIR_JSON, FhirError, log_unavailable
from services.system import System

router = APIRouter(prefix="/fhir", tags=["fhir writes"], dependencies=[Depends(negotiate)])


def _caller() -> Caller:
    principal = current_principal.get()
    if principal is None:
        return Caller("", None)
    return Caller(principal.site, principal.subject)


async def _body(request: Request) -> Json:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise FhirError(400, f"the body is not JSON: {exc}", "invalid") from exc
    if not isinstance(body, dict):
        raise FhirError(400, "the body must be a FHIR resource (a JSON object)", "invalid")
    return body


def _write_of(request: Request, rtype: str, body: Json, rid: str | None) -> Write:
    if_match = request.headers.get("if-match")
    if_none_exist = request.headers.get("if-none-exist")
    conditions = f"{if_match or ''}|{if_none_exist or ''}"
    eid = event_id(
        _caller(),
        request.method,
        request.url.path,
        conditions,
        body,
        request.headers.get("idempotency-key", ""),
    )
    return Write(rtype, body, rid, if_match, if_none_exist, eid)


@router.post("/Procedure")
async def create_procedure(request: Request, system: SystemDep) -> Response:
    return await _single(request, system, "Procedure", None)


@router.post("/Condition")
async def create_condition(request: Request, system: SystemDep) -> Response:
    return await _single(request, system, "Condition", None)


@router.put("/Procedure/{rid}")
async def update_procedure(rid: str, request: Request, system: SystemDep) -> Response:
    return await _single(request, system, "Procedure", rid)


@router.put("/Condition/{rid}")
async def update_condition(rid: str, request: Request, system: SystemDep) -> Response:
    return await _single(request, system, "Condition", rid)


@router.put("/Encounter/{rid}")
async def update_encounter(rid: str, request: Request, system: SystemDep) -> Response:
    """Sets the hospital Encounter's discharge disposition (the rest comes from ADT)."""
    return await _single(request, system, "Encounter", rid)


@router.post("")
async def transaction(request: Request, system: SystemDep) -> Response:
    """A transaction Bundle of Procedure/Condition/Encounter writes: all or nothing."""
    body = await _body(request)
    return await run_in_threadpool(_transaction, system, request, body)


async def _single(request: Request, system: SystemDep, rtype: str, rid: str | None) -> Response:
    body = await _body(request)
    write = _write_of(request, rtype, body, rid)
    return await run_in_threadpool(_single_sync, system, request, write)


def _single_sync(system: System, request: Request, write: Write) -> Response:
    prepared = prepare(system, _caller(), write)
    if prepared.existing is not None:  # If-None-Exist matched one: nothing is written
        return _answer(request, prepared, prepared.existing, 200, False)
    if prepared.replayed:  # this very request was written before: its first answer
        status = 201 if prepared.created else 200
        return _answer(request, prepared, prepared.event, status, True)
    event, duplicate = _append(system, [prepared])[0]
    status = 201 if prepared.created and event["version"] == 1 else 200
    return _answer(request, prepared, event, status, duplicate)


def _append(system: System, writes: list[Prepared]) -> list[tuple[Json, bool]]:
    """Append the writes' events (per patient, in order); on a duplicate event id the event
    first appended under it (its answer is the first answer)."""
    records = [
        NewRecord(p.patient_key, system.codec.encode(p.name, p.event), p.event["meta"]["event_id"])
        for p in writes
    ]
    try:
        appended = system.log.append(OUTCOME, records)
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc
    out: list[tuple[Json, bool]] = []
    for p, a in zip(writes, appended, strict=True):
        event = p.event
        if a.duplicate:
            original = system.log.read(OUTCOME, a.partition, a.offset, 1)[0]
            event = system.codec.decode(original.value)[1]
        out.append((event, a.duplicate))
    return out


def _location(request: Request, rtype: str, rid: str, version: int) -> str:
    return f"{request.base_url}fhir/{rtype}/{rid}/_history/{version}"


def _answer(
    request: Request, prepared: Prepared, event: Json, status: int, replayed: bool
) -> Response:
    resource = answer_resource(prepared, event)
    headers = {
        "ETag": f'W/"{event["version"]}"',
        "Location": _location(request, prepared.rtype, prepared.rid, event["version"]),
        "Last-Modified": format_datetime(event["meta"]["recorded_at"], usegmt=True),
    }
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    body = json.dumps(resource, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code=status, media_type=FHIR_JSON, headers=headers)


# -- transaction ------------------------------------------------------------------------


def _entry_write(request: Request, bundle_eid: str, index: int, entry: Any) -> Write:
    req = entry.get("request") if isinstance(entry, dict) else None
    resource = entry.get("resource") if isinstance(entry, dict) else None
    where = f"Bundle.entry[{index}]"
    if not isinstance(req, dict) or not isinstance(resource, dict):
        raise FhirError(400, f"{where} needs a request and a resource", "invalid", [where])
    method, url = str(req.get("method", "")).upper(), str(req.get("url", "")).strip("/")
    parts = url.split("?")[0].split("/")
    if method not in ("POST", "PUT") or (method == "POST") != (len(parts) == 1):
        raise FhirError(
            400, f"{where}: {method} {url} is not a create or an update", "not-supported", [where]
        )
    rtype = parts[0]
    if resource.get("resourceType") != rtype:
        raise FhirError(400, f"{where}: the resource is not a {rtype}", "invalid", [where])
    return Write(
        rtype,
        resource,
        parts[1] if len(parts) > 1 else None,
        req.get("ifMatch"),
        req.get("ifNoneExist"),
        f"{bundle_eid}-{index}",
    )


def _resolve_fullurls(entries: list[Any], ids: dict[str, str]) -> list[Any]:
    """Replace references to the Bundle's `urn:uuid:` fullUrls by the ids assigned."""
    text = json.dumps(entries)
    for full_url, ref in ids.items():
        text = text.replace(json.dumps(full_url), json.dumps(ref))
    return json.loads(text)  # type: ignore[no-any-return]


def _transaction(system: System, request: Request, bundle: Json) -> Response:
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        raise FhirError(400, "POST /fhir takes a Bundle of type transaction", "not-supported")
    caller = _caller()
    eid = event_id(caller, "POST", "/fhir", "", bundle, request.headers.get("idempotency-key", ""))
    entries = bundle.get("entry") or []
    writes = [_entry_write(request, eid, i, e) for i, e in enumerate(entries)]
    _check_scopes(writes)
    ids = _planned_ids(writes, entries)
    entries = _resolve_fullurls(entries, ids)
    writes = [_entry_write(request, eid, i, e) for i, e in enumerate(entries)]
    prepared = _prepare_all(system, caller, writes)
    fresh = [p for p in prepared if p.existing is None]  # replays are found again by id
    appended = iter(_append(system, fresh))
    results = []
    for p in prepared:
        results.append((p, p.existing, False) if p.existing else (p, *next(appended)))
    replayed = bool(fresh) and all(dup for p, _, dup in results if p.existing is None)
    return _transaction_response(request, results, replayed)


def _check_scopes(writes: list[Write]) -> None:
    """Each entry needs its own type's write scope (the route's rule asked for some)."""
    principal = current_principal.get()
    if not enforced.get() or principal is None:
        return
    for index, w in enumerate(writes):
        if not principal.may(w.rtype, "write"):
            raise FhirError(
                403, f"scope {w.rtype}.write is required", "forbidden", [f"Bundle.entry[{index}]"]
            )


def _planned_ids(writes: list[Write], entries: list[Any]) -> dict[str, str]:
    ids = {}
    for w, e in zip(writes, entries, strict=True):
        full_url = e.get("fullUrl") or ""
        if full_url.startswith("urn:uuid:"):
            rid = w.rid or resource_id(w.rtype, "outcome", w.event_id)
            ids[full_url] = f"{w.rtype}/{rid}"
    return ids


def _prepare_all(system: System, caller: Caller, writes: list[Write]) -> list[Prepared]:
    """Check every entry before anything is appended; the first refusal names its entry."""
    pending: dict[str, dict[tuple[str, str], Json]] = {}
    out = []
    for index, write in enumerate(writes):
        try:
            p = prepare(system, caller, write, _pending_of(pending, write))
        except FhirError as exc:
            exc.expression = [f"Bundle.entry[{index}]", *exc.expression]
            raise
        if p.existing is None:
            pending.setdefault(p.patient_key, {})[(p.rtype, p.rid)] = p.event
        out.append(p)
    return out


def _pending_of(
    pending: dict[str, dict[tuple[str, str], Json]], write: Write
) -> dict[tuple[str, str], Json]:
    subject = ((write.body.get("subject") or {}).get("reference") or "").split("/")[-1]
    return pending.get(subject, {})


def _transaction_response(
    request: Request, results: list[tuple[Prepared, Json, bool]], replayed: bool
) -> Response:
    entries = []
    for p, event, _ in results:
        status = "200 OK" if p.existing or not p.created else "201 Created"
        resource = answer_resource(p, event)
        entries.append(
            {
                "fullUrl": f"{request.base_url}fhir/{p.rtype}/{p.rid}",
                "resource": resource,
                "response": {
                    "status": status,
                    "location": f"{p.rtype}/{p.rid}/_history/{event['version']}",
                    "etag": f'W/"{event["version"]}"',
                    "lastModified": resource["meta"]["lastUpdated"],
                },
            }
        )
    doc = {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status_code=200, media_type=FHIR_JSON, headers=headers)
