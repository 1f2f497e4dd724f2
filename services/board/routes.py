"""The receiving hospital's live board and the region's real-time unit view.

| route                                               | what                                       |
|-----------------------------------------------------|--------------------------------------------|
| GET  /board/static/{name}                           | the pages' script and style sheet          |
| GET  /board/                                        | the hospitals (registry), each linking a board |
| GET  /board/{hospital_id}.json                      | the board as JSON (incoming, handed over)  |
| GET  /board/{hospital_id}                           | the ED board page (HTML)                   |
| GET  /board/{hospital_id}/cards                     | the board's cards alone (HTML fragment)    |
| GET  /board/{hospital_id}/events                    | server-sent events: the cards, on change   |
| POST /board/{hospital_id}/incidents/{id}/accept     | transfer of care: appends HandoverAccepted |
| GET  /region/                                       | every unit: map and table (HTML)           |
| GET  /region/units.json                             | every unit as JSON (`?station=` filters)   |
| GET  /region/events                                 | server-sent events: map and table, on change |

Live updates are server-sent events, not websockets: one direction, plain HTTP, and the
browser's EventSource reconnects by itself. A stream polls the view store (the board may
run in another process than the processors, on Cassandra) every `POLL_S` and sends the
rendered fragment when the digest of what it shows changed; the event id is that digest,
so a reconnecting browser (Last-Event-ID) gets nothing until something changes. A stream
ends after `STREAM_MAX_S` and the browser reconnects: no stream outlives a server shutdown
by more than that (uvicorn waits for open responses before it stops), and none outlives a
client that went away without a FIN.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from eventlog.base import LogUnavailable
from kernel.jsontypes import Json
from kernel.time import instant, now
from services import i18n
from services.auth.context import acting_subject
from services.board import board as queries
from services.board import render
from services.deps import SystemDep
from services.i18n import Msg, _
from services.outcome import FhirError, log_unavailable
from services.system import System
from services.web_assets import CSP_SELF, Head, WebAssets, titled
from stream_processors.registry.published import of_kind

board_router = APIRouter(prefix="/board", tags=["hospital board"])
region_router = APIRouter(prefix="/region", tags=["region units"])

# The accept button is a form posting to this server.
ASSETS = WebAssets(
    Path(__file__).parent,
    {"board.js": "text/javascript; charset=utf-8", "board.css": "text/css; charset=utf-8"},
    CSP_SELF + "; form-action 'self'",
    Head("/board/static/board.css", "/board/static/board.js", render.SCRIPT_MESSAGES),
)
INDEX_HEAD = Head("/static/home.css")  # the hospital chooser looks like the landing page
POLL_S = 1.0  # how often a stream looks at the views: an ambulance's minute is long
STREAM_MAX_S = 5.0  # then the browser reconnects (see the module docstring)
RETRY_MS = 500  # EventSource reconnection delay after a stream ends
ACCEPTED_BY_MAX = 100


# --- plumbing -------------------------------------------------------------------------------


def _sse(event: str, event_id: str, data: Json) -> str:
    return f"event: {event}\nid: {event_id}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _stream(
    request: Request,
    event: str,
    since: str,
    digest: Callable[[], str],
    fragment: Callable[[], str],
) -> AsyncIterator[str]:
    """Push `fragment()` whenever `digest()` differs from what the client last got."""
    last = since
    deadline = time.monotonic() + STREAM_MAX_S
    yield f"retry: {RETRY_MS}\n\n"
    while time.monotonic() < deadline and not await request.is_disconnected():
        current = await run_in_threadpool(digest)
        if current != last:
            html = await run_in_threadpool(fragment)
            yield _sse(event, current, {"digest": current, "html": html})
            last = current
        else:
            yield ": idle\n\n"  # a comment: finds a closed connection, keeps proxies open
        await asyncio.sleep(POLL_S)


def _resume_from(
    since: Annotated[str, Query(max_length=64)] = "",
    last_event_id: Annotated[str, Header(max_length=64)] = "",
) -> str:
    """The digest a stream resumes from: the EventSource's `Last-Event-ID` on a reconnect,
    else `?since=` (the digest the page was rendered with)."""
    return last_event_id or since


ResumeFrom = Annotated[str, Depends(_resume_from)]


def _event_stream(body: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


@board_router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    return ASSETS.static(name)


def _page_context() -> dict[str, str]:
    """What every board and region page carries: the user's zone."""
    return {
        "tz": render._e(i18n.current_zone.get()),
        "zone": render._e(i18n.zone_label()),
    }


def _hospitals(system: System) -> list[tuple[str, str]]:
    found = of_kind(system.store, "hospital")
    return [(p.id, p.display_name(i18n.locale())) for p in found]


@board_router.get("/", response_class=HTMLResponse, include_in_schema=False)
def board_index(
    system: SystemDep, hospital_id: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """The hospitals the registry knows, each linking its board; the box below them (a
    plain GET form, no script) opens the board of a typed id."""
    if hospital_id.strip():
        return RedirectResponse(f"/board/{quote(hospital_id.strip(), safe='')}", status_code=303)
    return ASSETS.page(
        "board_index.html",
        {"hospitals": render.hospitals_html(_hospitals(system))},
        title=titled(_("Incoming ambulances board: choose your hospital")),
        head=INDEX_HEAD,
    )


# --- the hospital board ---------------------------------------------------------------------


def _cards(system: System, hospital_id: str) -> str:
    return render.board_html(system, queries.board(system, hospital_id), now())


@board_router.get("/{hospital_id}.json")
def board_json(hospital_id: str, system: SystemDep) -> JSONResponse:
    """Incoming ambulances (soonest ETA first) and handed-over ones, with each ECG's
    automatic triage class."""
    return JSONResponse(queries.board(system, hospital_id), headers={"Cache-Control": "no-store"})


@board_router.get("/{hospital_id}", response_class=HTMLResponse, include_in_schema=False)
def board_page(hospital_id: str, system: SystemDep) -> HTMLResponse:
    e = render._e
    name = render.name_of(system, hospital_id)
    return ASSETS.page(
        "board.html",
        {
            **_page_context(),
            "hospital": e(hospital_id),
            "hospital_name": e(name),
            "digest": e(queries.board_digest(system, hospital_id)),
            "cards": _cards(system, hospital_id),
        },
        title=titled(_("Incoming ambulances"), name),
    )


@board_router.get("/{hospital_id}/cards", response_class=HTMLResponse, include_in_schema=False)
def board_cards(hospital_id: str, system: SystemDep) -> HTMLResponse:
    return ASSETS.fragment(_cards(system, hospital_id))


@board_router.get("/{hospital_id}/events", response_class=StreamingResponse)
def board_events(
    hospital_id: str, request: Request, system: SystemDep, resume: ResumeFrom
) -> StreamingResponse:
    """`text/event-stream` of `board` events: `{"digest", "html"}`, the cards fragment."""
    return _event_stream(
        _stream(
            request,
            "board",
            resume,
            lambda: queries.board_digest(system, hospital_id),
            lambda: _cards(system, hospital_id),
        )
    )


async def _accepted_by(request: Request) -> tuple[str, bool]:
    """The clinician's name from a form post or a JSON body; (name, came from a form)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise FhirError(400, Msg("body is not JSON: {error}", error=exc), "structure") from exc
        value = body.get("accepted_by") if isinstance(body, dict) else None
        return (str(value).strip() if value is not None else ""), False
    fields = parse_qs(raw.decode("utf-8", "replace"))
    return (fields.get("accepted_by") or [""])[0].strip(), True


@board_router.post(
    "/{hospital_id}/incidents/{incident_id}/accept",
    status_code=202,
    responses={409: {"description": "OperationOutcome: no handover to accept here"}},
)
async def accept_handover(
    hospital_id: str, incident_id: str, request: Request, system: SystemDep
) -> Response:
    """Transfer of care: the receiving clinician (`accepted_by`, form or JSON) accepts the
    crew's handover. Once per incident: a repeat answers with the first acceptance
    (`Idempotent-Replayed: true`). A form post is sent back to the board (303)."""
    claimed, from_form = await _accepted_by(request)
    # With auth on, the clinician is the token's subject (a body naming another is 403).
    accepted_by = acting_subject(claimed, "accepted_by")
    if not accepted_by or len(accepted_by) > ACCEPTED_BY_MAX:
        raise FhirError(
            422,
            Msg(
                "accepted_by: the receiving clinician's name (1-{max} characters)",
                max=ACCEPTED_BY_MAX,
            ),
            expression=["accepted_by"],
        )
    try:
        event, duplicate = await run_in_threadpool(
            queries.accept_handover, system, hospital_id, incident_id, accepted_by, now()
        )
    except queries.HandoverRefused as exc:
        raise FhirError(409, str(exc), "conflict") from exc
    except LogUnavailable as exc:
        raise log_unavailable(exc) from exc
    headers = {"Idempotent-Replayed": "true"} if duplicate else {}
    if from_form:
        return RedirectResponse(f"/board/{hospital_id}", status_code=303, headers=headers)
    return JSONResponse(_accepted_json(event), status_code=202, headers=headers)


def _accepted_json(event: Json) -> Json:
    at = event["meta"]["occurred_at"]
    return {
        "incident_id": event["incident_id"],
        "accepted_by": event["accepted_by"],
        "hospital_id": event.get("hospital_id"),
        "accepted_at": instant(at) if isinstance(at, dt.datetime) else at,
        "event_id": event["meta"]["event_id"],
    }


# --- the region -------------------------------------------------------------------------------


def _region(system: System) -> str:
    return render.region_html(system, queries.units(system), now())


@region_router.get("/", response_class=HTMLResponse, include_in_schema=False)
def region_page(system: SystemDep) -> HTMLResponse:
    units = queries.units(system)
    return ASSETS.page(
        "region.html",
        {
            **_page_context(),
            "digest": render._e(queries.units_digest(units)),
            "region": render.region_html(system, units, now()),
        },
        title=titled(_("Units in the region")),
    )


@region_router.get("/units.json")
def region_units(
    system: SystemDep, station: Annotated[str | None, Query(max_length=64)] = None
) -> JSONResponse:
    """Every unit's latest status, incident and GPS fix (UnitState)."""
    return JSONResponse(
        {"units": queries.units(system, station)}, headers={"Cache-Control": "no-store"}
    )


@region_router.get("/events", response_class=StreamingResponse)
def region_events(request: Request, system: SystemDep, resume: ResumeFrom) -> StreamingResponse:
    """`text/event-stream` of `region` events: `{"digest", "html"}`, map and table."""
    return _event_stream(
        _stream(
            request,
            "region",
            resume,
            lambda: queries.units_digest(queries.units(system)),
            lambda: _region(system),
        )
    )
