"""The landing page and the offline API documentation.

| route                      | what                                                        |
|----------------------------|-------------------------------------------------------------|
| GET /                      | every page, grouped by role (HTML)                          |
| GET /static/{name}         | the landing page's style sheet                              |
| GET /docs, /redoc          | Swagger UI and ReDoc, from assets shipped in the package    |
| GET /docs/oauth2-redirect  | Swagger UI's OAuth2 redirect page                           |
| GET /static/docs/{name}    | those assets (services/static/docs/, licences in README.md) |

The documentation pages follow FastAPI's "self-hosting JavaScript and CSS for docs" recipe:
the app is created with `docs_url=None, redoc_url=None` and these routes serve the same
pages with every script, style sheet and icon from this server, so they work on a hospital
network without internet (a CDN would leave them blank). Two things in the vendors' files
would still reach out, and are turned off here: Swagger UI's validator badge
(`validatorUrl: null`) and ReDoc's "by Redocly" logo, whose CDN address is replaced by our
icon when the file is served (`OFFLINE_REWRITES`; the shipped file stays as published).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

from services import i18n
from services.i18n import _
from services.web_assets import CSP_SELF, STATIC_HEADERS, Head, WebAssets

router = APIRouter(include_in_schema=False)

ASSETS = WebAssets(
    Path(__file__).parent,
    {"home.css": "text/css; charset=utf-8"},
    CSP_SELF,
    Head("/static/home.css"),
)
DOCS_DIR = Path(__file__).parent.parent / "static" / "docs"
DOCS_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# name -> (what, replacement): addresses elsewhere a docs file would load at run time.
OFFLINE_REWRITES = {
    "redoc.standalone.js": (
        b"https://cdn.redoc.ly/redoc/logo-mini.svg",
        b"/static/docs/favicon.svg",
    ),
}
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


@router.get("/", response_class=HTMLResponse)
def landing_page() -> HTMLResponse:
    """Every page, by role; the language switch keeps the choice in a cookie."""
    other = "en" if i18n.locale() == "zh-CN" else "zh-CN"
    title = _("goldenhour · regional 120 and remote ECG")
    return ASSETS.page("home.html", {"other_lang": other}, title=title)


@router.get("/static/{name}")
def static(name: str) -> Response:
    return ASSETS.static(name)


@router.get("/static/docs/{name}")
def docs_asset(name: str) -> Response:
    """A documentation asset of the fixed list (the folder is never walked)."""
    if name not in DOCS_FILES:
        return ASSETS.static(name)  # the same 404 OperationOutcome as any unknown file
    return Response(_docs_bytes(name), media_type=DOCS_FILES[name], headers=STATIC_HEADERS)


@cache
def _docs_bytes(name: str) -> bytes:
    body = (DOCS_DIR / name).read_bytes()
    if name in OFFLINE_REWRITES:
        body = body.replace(*OFFLINE_REWRITES[name])
    return body


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{request.app.title} · {i18n._('API documentation')}",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        swagger_js_url="/static/docs/swagger-ui-bundle.js",
        swagger_css_url="/static/docs/swagger-ui.css",
        swagger_favicon_url="/static/docs/favicon.svg",
        swagger_ui_parameters={"validatorUrl": None},  # the badge would call validator.swagger.io
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{request.app.title} · ReDoc",
        redoc_js_url="/static/docs/redoc.standalone.js",
        redoc_favicon_url="/static/docs/favicon.svg",
        with_google_fonts=False,
    )
