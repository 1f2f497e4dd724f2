"""The crew tablet app's shell: everything it needs to start and work offline. The app writes
only through the tablet API (`/ingest/incidents/{id}/events`, with the crew's token); these
routes serve no patient data and are public (services/auth/policy.py), so a tablet can
install and cache them before anyone signs in.

| route                          | what                                                      |
|--------------------------------|-----------------------------------------------------------|
| GET /crew/                     | the app page (Chinese by default; `?lang=en`)             |
| GET /crew/manifest.webmanifest | the web app manifest (installable, standalone)            |
| GET /crew/sw.js                | the service worker: caches the shell, scope /crew/        |
| GET /crew/reference.json       | statuses, vital-sign limits, hospitals and units, labels  |
| GET /crew/demo-ecg.json        | the demo's synthetic 12-lead ECG                          |
| GET /crew/static/{name}        | the app's modules, style sheet and icon                   |
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from services import i18n
from services.crew.reference import LABELS, demo_ecg, reference
from services.deps import SystemDep
from services.i18n import N_, _
from services.web_assets import CSP_SELF, STATIC_HEADERS, WebAssets

router = APIRouter(prefix="/crew", tags=["crew tablet app"])

JS = "text/javascript; charset=utf-8"
# The app fetches only from this server; its worker is a same-origin script.
ASSETS = WebAssets(
    Path(__file__).parent,
    {
        "app.js": JS,
        "outbox.js": JS,
        "gb11643.js": JS,
        "vitals.js": JS,
        "crew.css": "text/css; charset=utf-8",
        "icon.svg": "image/svg+xml",
    },
    CSP_SELF + "; connect-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'none'",
)
# The shell holds no patient data: the browser may keep it, but must ask first (no-cache),
# so a new release reaches tablets that are online.
SHELL_HEADERS = {**ASSETS.headers, "Cache-Control": "no-cache"}
# What the app's scripts say (catalogue ids; app.js, gb11643.js, vitals.js); with the
# names of codes (reference.LABELS) they make the page's #messages block.
SCRIPT_MESSAGES = (
    N_("No incident yet: start one first"),
    N_("Saved on this tablet, waiting to sync"),
    N_("Offline"),
    N_("Online"),
    N_("Token invalid or not allowed: update it in Settings"),
    N_("{n} waiting to sync"),
    N_("All synced"),
    N_("recorded"),
    N_("partner tablet"),
    N_("synced"),
    N_("{field} is required"),
    N_("EMS station"),
    N_("Unit"),
    N_("Fill in at least one"),
    N_("Recordable {low}–{high} {unit}"),
    N_("Not a 12-lead ECG: {why}"),
    N_("ECG {id} recorded ({leads} leads, {seconds} s)"),
    N_("Settings saved"),
    N_(
        "The partner tablet recorded {n}: {what}. Merged; this tablet's {m} follow and are sent again."
    ),
    N_("The server refused {n} entries: {why}"),
    N_("18 characters: 17 digits + check character (GB 11643)"),
    N_("17 digits, then a digit or X"),
    N_("{n} typed; with 17 digits the check character is {expected}"),
    N_("Needs 18 characters, has {n}"),
    N_("Birth date {date} is not a date"),
    N_("Check character should be {expected} (GB 11643 MOD 11-2)"),
    N_("Valid: born {birth}, {sex}"),
    N_("{name} is a whole number"),
    N_("{name} {value} {unit} is implausible (recordable {low}–{high})"),
    N_("Blood pressure needs systolic and diastolic"),
    N_("Diastolic must be below systolic"),
)


@router.get("", include_in_schema=False)
def crew_redirect() -> RedirectResponse:
    return RedirectResponse("/crew/", status_code=308)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def crew_page() -> HTMLResponse:
    """The app page in the request's language (services/i18n: `?lang=`, cookie,
    Accept-Language, else Chinese), with its script's messages in the same language: the
    service worker caches the page, so an offline tablet keeps both."""
    ids = (*SCRIPT_MESSAGES, *(i for names in LABELS.values() for i in names.values()))
    page = ASSETS.template("index.html").substitute(
        lang=i18n.locale(), messages=i18n.js_messages(ids)
    )
    return HTMLResponse(page, headers=SHELL_HEADERS)


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    """The web app manifest: what makes the app installable on the tablet's home screen."""
    doc = {
        "name": _("Ambulance tablet"),
        "short_name": _("Crew tablet"),
        "description": _(
            "Crew record on scene: timeline, patient, vitals, treatment, medications, "
            "ECG, pre-alert and handover"
        ),
        "lang": i18n.locale(),
        "start_url": "/crew/",
        "scope": "/crew/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "icons": [
            {"src": "/crew/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return Response(
        json.dumps(doc, ensure_ascii=False),
        media_type="application/manifest+json",
        headers=STATIC_HEADERS,
    )


@router.get("/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, served from /crew/ so its scope is the app (and nothing else)."""
    return Response(
        (Path(__file__).parent / "static" / "sw.js").read_bytes(),
        media_type=JS,
        headers={**STATIC_HEADERS, "Service-Worker-Allowed": "/crew/"},
    )


@router.get("/reference.json", include_in_schema=False)
def reference_json(system: SystemDep) -> JSONResponse:
    """Statuses, vital-sign limits, registry hospitals and units, the names of codes."""
    return JSONResponse(reference(system.store), headers=STATIC_HEADERS)


@router.get("/demo-ecg.json", include_in_schema=False)
def demo_ecg_json() -> JSONResponse:
    """The demo's synthetic 12-lead ECG (an inferior STEMI), to attach without a cart."""
    return JSONResponse(demo_ecg(), headers=STATIC_HEADERS)


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    return ASSETS.static(name)
