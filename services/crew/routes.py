"""The crew tablet app's shell: everything it needs to start and work offline. The app writes
only through the tablet API (`/ingest/incidents/{id}/events`, with the crew's token); these
routes serve no patient data and are public (services/auth/policy.py), so a tablet can
install and cache them before anyone signs in.

| route                          | what                                                      |
|--------------------------------|-----------------------------------------------------------|
| GET /crew/                     | the app page (Chinese by default; `?lang=en`)             |
| GET /crew/manifest.webmanifest | the web app manifest (installable, standalone)            |
| GET /crew/sw.js                | the service worker: caches the shell, scope /crew/        |
| GET /crew/reference.json       | statuses, vital-sign limits, hospitals and units, strings |
| GET /crew/demo-ecg.json        | the demo's synthetic 12-lead ECG                          |
| GET /crew/static/{name}        | the app's modules, style sheet and icon                   |
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from services import i18n
from services.crew.messages import messages
from services.crew.reference import demo_ecg, reference
from services.deps import SystemDep
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


@router.get("", include_in_schema=False)
def crew_redirect() -> RedirectResponse:
    return RedirectResponse("/crew/", status_code=308)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def crew_page() -> HTMLResponse:
    """The app page in the request's language (services/i18n: `?lang=`, cookie,
    Accept-Language, else Chinese); `data-t` keys let the script relabel."""
    chosen = i18n.locale()
    text = messages(chosen)
    fragments = {k.replace(".", "_").replace("-", "_"): html.escape(v) for k, v in text.items()}
    page = ASSETS.template("index.html").substitute(fragments, lang=chosen)
    return HTMLResponse(page, headers=SHELL_HEADERS)


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    """The web app manifest: what makes the app installable on the tablet's home screen."""
    chosen = i18n.locale()
    text = messages(chosen)
    doc = {
        "name": text["app.title"],
        "short_name": text["app.short"],
        "description": text["app.description"],
        "lang": chosen,
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
    """Statuses, vital-sign limits, registry hospitals and units, the app's strings."""
    return JSONResponse(reference(system.store), headers=STATIC_HEADERS)


@router.get("/demo-ecg.json", include_in_schema=False)
def demo_ecg_json() -> JSONResponse:
    """The demo's synthetic 12-lead ECG (an inferior STEMI), to attach without a cart."""
    return JSONResponse(demo_ecg(), headers=STATIC_HEADERS)


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    return ASSETS.static(name)
