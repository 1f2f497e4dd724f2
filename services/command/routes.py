"""The command centre's API and page (roles in services/auth/policy.py: dispatch and admin,
except where a row says otherwise).

| route                                                     | what                                  |
|-----------------------------------------------------------|---------------------------------------|
| GET  /command/                                            | the live command page (HTML)          |
| GET  /command/panel                                       | the page's live part (HTML fragment)  |
| GET  /command/static/{name}                               | the page's script and style (public)  |
| GET  /command/incidents                                   | MCIs: scene, status, triage counts by |
|                                                           | colour, patients by destination       |
| POST /command/incidents                                   | declare an MCI (MciDeclared)          |
| GET  /command/incidents/{mci_id}                          | one MCI with its casualties           |
| POST /command/incidents/{mci_id}/close                    | MciClosed                             |
| POST /command/incidents/{mci_id}/casualties               | crew (own station responding): tag or |
|                                                           | re-tag a casualty (CasualtyTriaged)   |
| GET  /command/incidents/{mci_id}/plan                     | the distribution plan (not applied)   |
| POST /command/incidents/{mci_id}/distribution             | apply the plan: one CasualtyAssigned  |
|                                                           | per suggested destination             |
| POST /command/incidents/{mci_id}/casualties/{cid}/assignment | assign by hand                     |
| GET  /command/capacity                                    | hospitals: reported, assigned, left   |
| PUT  /command/capacity/{hospital_id}                      | hospital (its own): report capacity   |
| GET  /command/expected/{hospital_id}                      | hospital (its own): MCI casualties    |
|                                                           | assigned to it                        |
| GET  /command/escorts                                     | escorts and the traffic side's answers|
| POST /command/escorts/{escort_id}/updates                 | the traffic platform's callback       |
| GET  /command/alerts                                      | surveillance alerts (newest first)    |
| POST /command/alerts/{alert_id}/acknowledge               | a duty officer acknowledges           |

Writes answer 202 with the event(s) appended, or 200 with `Idempotent-Replayed: true` when
nothing new was appended (a retry); the views follow within moments.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from eventlog.base import LogUnavailable
from kernel.jsontypes import Json
from kernel.time import instant
from services.auth.context import acting_site, acting_subject, current_principal
from services.command import page, queries, writes
from services.command.models import (
    AcknowledgeIn,
    AssignmentIn,
    CapacityIn,
    CasualtyIn,
    CloseIn,
    DistributionIn,
    MciIn,
    RouteUpdateIn,
)
from services.command.writes import Written
from services.deps import SystemDep
from services.i18n import _
from services.outcome import FhirError, log_unavailable
from services.web_assets import CSP_SELF, Head, WebAssets, titled

router = APIRouter(prefix="/command", tags=["command centre"])
M = TypeVar("M", bound=BaseModel)
ASSETS = WebAssets(
    Path(__file__).parent,
    {"command.js": "text/javascript; charset=utf-8", "command.css": "text/css; charset=utf-8"},
    CSP_SELF + "; form-action 'self'",  # the page's buttons are forms posting here
    Head("/command/static/command.css", "/command/static/command.js"),
)


def _plain(value: Any) -> Any:
    """An event as JSON (datetimes as instants)."""
    if isinstance(value, dt.datetime):
        return instant(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _answer(written: Written, extra: Json | None = None) -> JSONResponse:
    body = {"events": _plain(written.events), **(extra or {})}
    if written.replayed:
        return JSONResponse(body, status_code=200, headers={"Idempotent-Replayed": "true"})
    return JSONResponse(body, status_code=202)


async def _write(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return await run_in_threadpool(fn, *args, **kw)
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc


def _body_schema(model: type[BaseModel]) -> Json:
    """OpenAPI for a route that reads its body itself (JSON or the page's form)."""
    schema = {"schema": model.model_json_schema()}
    return {
        "requestBody": {
            "content": {"application/json": schema, "application/x-www-form-urlencoded": schema}
        }
    }


async def _json_or_form(request: Request, model: type[M]) -> tuple[M, bool]:
    """The body as `model`, from JSON or from a form post; (body, came from a form)."""
    raw = await request.body()
    from_form = request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    )
    try:
        if from_form:
            fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items() if v[0]}
            return model.model_validate(fields), True
        return model.model_validate_json(raw or b"{}"), False
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise FhirError(422, f"{where}: {first['msg']}", expression=[where]) from exc


# --- the page ---------------------------------------------------------------------------------


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    return ASSETS.static(name)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def command_page(system: SystemDep) -> HTMLResponse:
    return ASSETS.page("command.html", page.page_context(system), title=titled(_("Command centre")))


@router.get("/panel", response_class=HTMLResponse, include_in_schema=False)
def command_panel(system: SystemDep) -> HTMLResponse:
    return ASSETS.fragment(page.panel_html(system))


# --- MCIs -------------------------------------------------------------------------------------


@router.get("/incidents")
def list_incidents(system: SystemDep) -> JSONResponse:
    """Every MCI: id, scene, status, `triage` counts by colour, patients by destination."""
    found = [queries.mci_json(m) for m in queries.mcis(system)]
    return JSONResponse({"incidents": found}, headers={"Cache-Control": "no-store"})


@router.post("/incidents", status_code=202)
async def declare_incident(body: MciIn, system: SystemDep) -> JSONResponse:
    """Declare a mass-casualty incident: scene, kind, estimated casualties, the stations
    whose crews respond."""
    user = acting_subject(body.declared_by, "declared_by")
    return _answer(await _write(writes.declare, system, body, user, None))


@router.get("/incidents/{mci_id}")
def get_incident(mci_id: str, system: SystemDep) -> JSONResponse:
    state = queries.mci(system, mci_id)
    if state is None:
        raise FhirError(404, f"no MCI {mci_id}", "not-found")
    return JSONResponse(queries.mci_json(state, detail=True), headers={"Cache-Control": "no-store"})


@router.post("/incidents/{mci_id}/close", status_code=202)
async def close_incident(mci_id: str, body: CloseIn, system: SystemDep) -> JSONResponse:
    user = acting_subject(body.closed_by, "closed_by")
    return _answer(await _write(writes.close, system, mci_id, user, body.reason))


@router.post("/incidents/{mci_id}/casualties", status_code=202)
async def triage_casualty(mci_id: str, body: CasualtyIn, system: SystemDep) -> JSONResponse:
    """A crew tags a casualty (START, SALT or JumpSTART); the same tag number again is a
    re-triage, kept as history. The station and the crew member are the token's."""
    station = acting_site(body.station_id, "station_id")
    user = acting_subject(body.triaged_by, "triaged_by")
    return _answer(await _write(writes.triage, system, mci_id, body, station, user))


@router.get("/incidents/{mci_id}/plan")
def get_plan(mci_id: str, system: SystemDep) -> JSONResponse:
    """Suggested destinations for the unassigned casualties (nothing is appended)."""
    state = queries.mci(system, mci_id)
    if state is None:
        raise FhirError(404, f"no MCI {mci_id}", "not-found")
    return JSONResponse(queries.proposal(system, state).to_json())


def _distribute(system: Any, mci_id: str, user: str) -> tuple[list[Json], Json]:
    state, _ = writes.mci_now(system, mci_id)
    if state is None:
        raise FhirError(404, f"no MCI {mci_id}", "not-found")
    proposed = queries.proposal(system, state)
    appended: list[Json] = []
    for a in proposed.assignments:
        written = writes.assign(
            system,
            mci_id,
            a.casualty_id,
            a.hospital_id,
            user,
            travel_min=a.travel_min,
            planned=True,
        )
        appended += written.events
    return appended, proposed.to_json()


@router.post(
    "/incidents/{mci_id}/distribution",
    status_code=202,
    openapi_extra=_body_schema(DistributionIn),
)
async def apply_distribution(mci_id: str, request: Request, system: SystemDep) -> Response:
    """Apply the plan: each suggested destination becomes a `CasualtyAssigned`. JSON, or
    the command page's form (answered with a redirect back to the page)."""
    body, from_form = await _json_or_form(request, DistributionIn)
    user = acting_subject(body.assigned_by, "assigned_by")
    appended, proposed = await _write(_distribute, system, mci_id, user)
    if from_form:
        return RedirectResponse("/command/", status_code=303)
    return _answer(Written(appended, not appended), {"plan": proposed})


@router.post("/incidents/{mci_id}/casualties/{casualty_id}/assignment", status_code=202)
async def assign_casualty(
    mci_id: str, casualty_id: str, body: AssignmentIn, system: SystemDep
) -> JSONResponse:
    user = acting_subject(body.assigned_by, "assigned_by")
    return _answer(
        await _write(
            writes.assign, system, mci_id, casualty_id, body.hospital_id, user, unit_id=body.unit_id
        )
    )


# --- hospitals ----------------------------------------------------------------------------------


@router.get("/capacity")
def get_capacity(system: SystemDep) -> JSONResponse:
    """Each hospital's last report, what was assigned since, and what remains."""
    return JSONResponse(
        {"hospitals": queries.capacity_json(system)}, headers={"Cache-Control": "no-store"}
    )


@router.put("/capacity/{hospital_id}", status_code=202)
async def put_capacity(hospital_id: str, body: CapacityIn, system: SystemDep) -> JSONResponse:
    """A hospital reports what it can take now (replaces its previous report)."""
    user = acting_subject(body.reported_by, "reported_by")
    return _answer(await _write(writes.report_capacity, system, hospital_id, body, user))


@router.get("/expected/{hospital_id}")
def get_expected(hospital_id: str, system: SystemDep) -> JSONResponse:
    """Casualties of active MCIs assigned to this hospital (its board shows them)."""
    return JSONResponse(
        {"casualties": queries.expected(system, hospital_id)}, headers={"Cache-Control": "no-store"}
    )


# --- escorts ------------------------------------------------------------------------------------


@router.get("/escorts")
def list_escorts(system: SystemDep) -> JSONResponse:
    """Escort requests, newest first, with the traffic platform's ack and route updates."""
    return JSONResponse({"escorts": queries.escorts(system)}, headers={"Cache-Control": "no-store"})


@router.post("/escorts/{escort_id}/updates", status_code=202)
async def escort_update(escort_id: str, body: RouteUpdateIn, system: SystemDep) -> JSONResponse:
    """The traffic platform's callback: route, ETA, signals cleared, status."""
    escort = queries.escort(system, escort_id)
    if escort is None:
        raise FhirError(404, f"no escort {escort_id}", "not-found")
    principal = current_principal.get()
    user = principal.subject if principal is not None else "traffic-platform"
    return _answer(await _write(writes.route_updated, system, escort, body, user))


# --- alerts -------------------------------------------------------------------------------------


@router.get("/alerts")
def list_alerts(system: SystemDep) -> JSONResponse:
    """Surveillance alerts, unacknowledged first, newest day first."""
    return JSONResponse({"alerts": queries.alerts(system)}, headers={"Cache-Control": "no-store"})


@router.post(
    "/alerts/{alert_id}/acknowledge", status_code=202, openapi_extra=_body_schema(AcknowledgeIn)
)
async def acknowledge(alert_id: str, request: Request, system: SystemDep) -> Response:
    """A duty officer acknowledges an alert (JSON, or the command page's form)."""
    body, from_form = await _json_or_form(request, AcknowledgeIn)
    if not any(a["alert_id"] == alert_id for a in queries.alerts(system)):
        raise FhirError(404, f"no alert {alert_id}", "not-found")
    user = acting_subject(body.acknowledged_by, "acknowledged_by")
    written = await _write(writes.acknowledge_alert, system, alert_id, body, user)
    if from_form:
        return RedirectResponse("/command/", status_code=303)
    return _answer(written)
