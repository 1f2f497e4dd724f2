"""FHIR R4 REST (read side): metadata, read, vread, instance history, search.

Bodies are served as stored (canonical JSON written by the projector), so what a client
reads is byte for byte what a rebuild reproduces. `ETag` is `W/"<versionId>"` and
`If-None-Match` answers 304 (FHIR http.html#versioning).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from services.deps import SystemDep
from services.fhir_api.capability import capability_statement
from services.fhir_api.search import SEARCH_PARAMS, search_ids
from services.outcome import FHIR_JSON, FhirError
from viewstore.base import StoredResource

router = APIRouter(prefix="/fhir", tags=["fhir"])

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
STARTED = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check(rtype: str, rid: str | None = None) -> None:
    if rtype not in SEARCH_PARAMS:
        raise FhirError(404, f"resource type {rtype} is not served here", "not-supported")
    if rid is not None and not ID_PATTERN.match(rid):
        raise FhirError(400, f"{rid!r} is not a valid FHIR id", "invalid")


def _etag(version: int) -> str:
    return f'W/"{version}"'


def _resource_response(request: Request, stored: StoredResource) -> Response:
    headers = {
        "ETag": _etag(stored.version),
        "Last-Modified": format_datetime(
            dt.datetime.fromisoformat(stored.last_updated), usegmt=True
        ),
        "Content-Location": f"/fhir/{stored.resource_type}/{stored.id}/_history/{stored.version}",
    }
    if request.headers.get("if-none-match") in (_etag(stored.version), f'"{stored.version}"'):
        return Response(status_code=304, headers=headers)
    return Response(stored.body, media_type=FHIR_JSON, headers=headers)


def _json(doc: dict[str, Any]) -> Response:
    return Response(json.dumps(doc, separators=(",", ":")), media_type=FHIR_JSON)


@router.get("/metadata")
def metadata(request: Request) -> Response:
    return _json(capability_statement(str(request.base_url) + "fhir", STARTED))


@router.get("/{rtype}/{rid}")
def read(rtype: str, rid: str, request: Request, system: SystemDep) -> Response:
    _check(rtype, rid)
    stored = system.store.read(rtype, rid)
    if stored is None:
        raise FhirError(404, f"{rtype}/{rid} not found", "not-found")
    return _resource_response(request, stored)


@router.get("/{rtype}/{rid}/_history/{vid}")
def vread(rtype: str, rid: str, vid: str, request: Request, system: SystemDep) -> Response:
    _check(rtype, rid)
    if not vid.isdigit():
        raise FhirError(400, f"version id {vid!r} must be a positive integer", "invalid")
    stored = system.store.vread(rtype, rid, int(vid))
    if stored is None:
        raise FhirError(404, f"{rtype}/{rid}/_history/{vid} not found", "not-found")
    return _resource_response(request, stored)


def _bundle(kind: str, request: Request, entries: list[dict[str, Any]]) -> Response:
    return _json(
        {
            "resourceType": "Bundle",
            "type": kind,
            "total": len(entries),
            "link": [{"relation": "self", "url": str(request.url)}],
            "entry": entries,
        }
    )


@router.get("/{rtype}/{rid}/_history")
def history(rtype: str, rid: str, request: Request, system: SystemDep) -> Response:
    _check(rtype, rid)
    versions = system.store.history(rtype, rid)
    if not versions:
        raise FhirError(404, f"{rtype}/{rid} not found", "not-found")
    base = str(request.base_url) + "fhir"
    entries = [
        {
            "fullUrl": f"{base}/{rtype}/{rid}",
            "resource": json.loads(v.body),
            "request": {
                "method": "POST" if v.version == 1 else "PUT",
                "url": rtype if v.version == 1 else f"{rtype}/{rid}",
            },
            "response": {
                "status": "201 Created" if v.version == 1 else "200 OK",
                "etag": _etag(v.version),
                "lastModified": v.last_updated,
            },
        }
        for v in versions
    ]
    return _bundle("history", request, entries)


@router.get("/{rtype}")
def search(rtype: str, request: Request, system: SystemDep) -> Response:
    _check(rtype)
    ids = search_ids(system.store, rtype, dict(request.query_params))
    base = str(request.base_url) + "fhir"
    entries = []
    for rid in ids:
        stored = system.store.read(rtype, rid)
        if stored is not None:
            entries.append(
                {
                    "fullUrl": f"{base}/{rtype}/{rid}",
                    "resource": json.loads(stored.body),
                    "search": {"mode": "match"},
                }
            )
    return _bundle("searchset", request, entries)
